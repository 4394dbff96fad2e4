/**
 * The ingest transport conformance suite on MQTT 5: a Mosquitto of the test's own on a free
 * loopback port (the shared one on 1883 cannot be killed and restarted for the reconnect case),
 * persistence off, sessions kept while it runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqttTransport, MQTT_TRANSPORT_DEFAULTS } from '../../agent/fleet/ingest/index.ts';
import { NO_CREDENTIALS } from '../../agent/tls-files.ts';
import { IN_CI, tcpReachable, waitFor } from '../helpers/peers.ts';
import { ingestTransportSuite } from './fleet-ingest-transport.ts';

const BIN = process.env.SFA_TEST_MOSQUITTO ?? '/usr/sbin/mosquitto';
let port = 0;
let dir = '';
let proc: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function startMosquitto(): Promise<void> {
  proc = spawn(BIN, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  await waitFor(() => tcpReachable('127.0.0.1', port, 200), 10_000, `mosquitto on ${port}`, 100);
}

async function stopMosquitto(): Promise<void> {
  const p = proc;
  proc = undefined;
  if (!p || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

ingestTransportSuite('MQTT', {
  setup: async () => {
    const ok = spawnSync(BIN, ['-h'], { encoding: 'utf8' }).error === undefined;
    if (!ok) {
      if (IN_CI) throw new Error(`CI requires ${BIN}: apt-get install mosquitto`);
      console.warn(`skipping: no ${BIN} (apt-get install mosquitto)`);
      return false;
    }
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'sfa-ingest-mqtt-'));
    writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000\n`);
    await startMosquitto();
    return true;
  },
  teardown: async () => {
    await stopMosquitto();
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
  transport: (s) =>
    new MqttTransport({
      ...MQTT_TRANSPORT_DEFAULTS,
      url: `mqtt://127.0.0.1:${port}`,
      clientId: `sfa-conf-${s.group}-${s.id}`,
      topicPrefix: s.prefix,
      group: s.group,
      ...NO_CREDENTIALS,
      sessionExpiryS: 600,
      maxPending: s.maxPending ?? 100,
      mqttVersion: 5,
      shared: true,
      reconnectMs: 200,
    }),
  mqttUrl: () => `mqtt://127.0.0.1:${port}`,
  restartBroker: async () => {
    await stopMosquitto();
    await startMosquitto();
  },
});

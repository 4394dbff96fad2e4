/**
 * A NATS JetStream cluster of a test's own: 1 or 3 nats-server processes on free loopback ports
 * (never 4222, a system one may run there), each with JetStream (store in a temp folder), an MQTT
 * listener, a monitoring port and, for 3 nodes, cluster routes to the others. kill(i) is SIGKILL;
 * restart(i) starts the node again on the same ports and store. Readiness is read from the
 * monitoring endpoints (/healthz, /routez, /jsz) and, once they agree, from the JetStream API
 * answering a client of each node (nats-wire.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_CI, waitFor, type Requirement } from './peers.ts';
import { wireConnect } from './nats-wire.ts';

export const NATS_SERVER_BIN = process.env.SFA_TEST_NATS_SERVER ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** True when nats-server can be started here; skips with a message (fails when CI=true) when not. */
export async function natsServer(): Promise<Requirement> {
  const r = spawnSync(NATS_SERVER_BIN, ['--version'], { encoding: 'utf8' });
  const available = r.error === undefined && r.status === 0;
  const reason = `no ${NATS_SERVER_BIN}: apt-get install nats-server (v2.9 or later)`;
  if (!available) {
    if (IN_CI) throw new Error(`CI requires it: ${reason}`);
    console.warn(`skipping: ${reason}`);
  }
  return { available, reason };
}

export interface NatsMqttOptions {
  /** replicas of the $MQTT_* streams the listener creates (sessions, retained, QoS 1 messages) */
  streamReplicas?: number;
  /** how long a QoS 1 message sent to an MQTT subscriber waits for its PUBACK before redelivery */
  ackWait?: string;
  /** QoS 1 messages in flight per MQTT subscription */
  maxAckPending?: number;
}

export interface NatsClusterOptions {
  size: 1 | 3;
  /** used in the server names (`${name}-1` …) and the cluster name */
  name?: string;
  mqtt?: NatsMqttOptions;
  /** a node's configuration file instead of the generated one (e.g. config/nats/ with its ports rewritten) */
  configText?: (node: NatsNode, all: readonly NatsNode[]) => string;
}

export interface NatsNode {
  index: number;
  serverName: string;
  clientPort: number;
  mqttPort: number;
  httpPort: number;
  routePort: number;
  natsUrl: string;
  mqttUrl: string;
  storeDir: string;
  configFile: string;
  logFile: string;
}

export interface NatsCluster {
  nodes: readonly NatsNode[];
  /** one per node, in node order */
  natsUrls: string[];
  mqttUrls: string[];
  running(i: number): boolean;
  /** SIGKILL: no shutdown, no leadership hand-off */
  kill(i: number): Promise<void>;
  /** starts node i again on the same ports and store, and waits until it is healthy */
  restart(i: number): Promise<void>;
  /** /jsz of node i with the query given (e.g. 'accounts=true&streams=true') */
  jsz(i: number, query?: string): Promise<JszReply>;
  /** the index of the node leading the stream (as seen by the running nodes), undefined when none */
  streamLeader(stream: string): Promise<number | undefined>;
  waitStreamLeader(stream: string, timeoutMs?: number): Promise<number>;
  /** waits until the stream has a leader and every running replica reports itself current */
  waitStreamCurrent(stream: string, timeoutMs?: number): Promise<void>;
  /** waits until every running node is up: JetStream enabled, routes to the others, a meta leader known, the JetStream API answering */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** the last lines of node i's log, for failure messages */
  logTail(i: number, lines?: number): string;
  stop(): Promise<void>;
}

export interface JszStreamDetail {
  name: string;
  cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] };
  state?: { messages: number; first_seq: number; last_seq: number };
}

export interface JszReply {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: { name: string; stream_detail?: JszStreamDetail[] }[];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) {
    const p = await freePort();
    if (p !== 4222) out.add(p);
  }
  return [...out];
}

function mqttBlock(node: NatsNode, o: NatsMqttOptions): string {
  const lines = [`  listen: 127.0.0.1:${node.mqttPort}`];
  if (o.streamReplicas !== undefined) lines.push(`  stream_replicas: ${o.streamReplicas}`);
  if (o.ackWait !== undefined) lines.push(`  ack_wait: "${o.ackWait}"`);
  if (o.maxAckPending !== undefined) lines.push(`  max_ack_pending: ${o.maxAckPending}`);
  return `mqtt {\n${lines.join('\n')}\n}\n`;
}

function configText(node: NatsNode, all: readonly NatsNode[], clusterName: string, mqtt: NatsMqttOptions): string {
  let text =
    `server_name: ${node.serverName}\n` +
    `listen: 127.0.0.1:${node.clientPort}\n` +
    `http: 127.0.0.1:${node.httpPort}\n` +
    `log_file: "${node.logFile}"\n` +
    `jetstream {\n  store_dir: "${node.storeDir}"\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n` +
    mqttBlock(node, mqtt);
  if (all.length > 1) {
    const routes = all.map((n) => `    nats-route://127.0.0.1:${n.routePort}`).join('\n');
    text += `cluster {\n  name: ${clusterName}\n  listen: 127.0.0.1:${node.routePort}\n  routes: [\n${routes}\n  ]\n}\n`;
  }
  return text;
}

async function httpJson<T>(port: number, path: string): Promise<{ status: number; body: T | undefined }> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 2_000);
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: ac.signal });
    const text = await res.text();
    let body: T | undefined;
    try {
      body = JSON.parse(text) as T;
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } finally {
    clearTimeout(t);
  }
}

export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  const name = opts.name ?? `sfa${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'sfa-nats-'));
  const ports = await freePorts(opts.size * 4);
  const nodes: NatsNode[] = [];
  for (let i = 0; i < opts.size; i++) {
    const [clientPort, mqttPort, httpPort, routePort] = ports.slice(i * 4, i * 4 + 4) as [number, number, number, number];
    const nodeDir = join(dir, `n${i + 1}`);
    mkdirSync(nodeDir, { recursive: true });
    nodes.push({
      index: i,
      serverName: `${name}-${i + 1}`,
      clientPort,
      mqttPort,
      httpPort,
      routePort,
      natsUrl: `nats://127.0.0.1:${clientPort}`,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      storeDir: join(nodeDir, 'store'),
      configFile: join(nodeDir, 'nats.conf'),
      logFile: join(nodeDir, 'nats.log'),
    });
  }
  for (const n of nodes) writeFileSync(n.configFile, opts.configText ? opts.configText(n, nodes) : configText(n, nodes, name, opts.mqtt ?? {}));

  const children: (ChildProcess | undefined)[] = nodes.map(() => undefined);
  const node = (i: number): NatsNode => {
    const n = nodes[i];
    if (!n) throw new Error(`no node ${i} in a cluster of ${nodes.length}`);
    return n;
  };
  const running = (i: number): boolean => {
    const c = children[i];
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  };
  const logTail = (i: number, lines = 30): string => {
    const f = node(i).logFile;
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
  };

  const spawnNode = (i: number): void => {
    const c = spawn(NATS_SERVER_BIN, ['-c', node(i).configFile], { stdio: 'ignore' });
    c.on('error', () => undefined);
    children[i] = c;
  };

  /**
   * up: JetStream enabled (/healthz?js-enabled-only=true), routes to every other running node, and
   * in a cluster a meta leader known. Not the full /healthz: in 2.9 it stays 503 while any replica of
   * any stream or consumer (the listener's per-server $MQTT_rmsgs consumers too) is behind.
   */
  const nodeHealthy = async (i: number): Promise<boolean> => {
    if (!running(i)) return false;
    try {
      const h = await httpJson<{ status?: string }>(node(i).httpPort, '/healthz?js-enabled-only=true');
      if (h.status !== 200) return false;
      if (nodes.length === 1) return true;
      const others = nodes.filter((_, k) => k !== i && running(k)).length;
      const r = await httpJson<{ num_routes?: number }>(node(i).httpPort, '/routez');
      if ((r.body?.num_routes ?? 0) < others) return false;
      const j = await httpJson<JszReply>(node(i).httpPort, '/jsz');
      return Boolean(j.body?.meta_cluster?.leader);
    } catch {
      return false;
    }
  };

  /** the JetStream API answers a client of node i ($JS.API.INFO without an error) */
  const jsApiAnswers = async (i: number): Promise<boolean> => {
    const nc = await wireConnect(node(i).natsUrl, 2_000).catch(() => undefined);
    if (!nc) return false;
    try {
      const r = await nc.api<{ error?: unknown }>('$JS.API.INFO', undefined, 2_000);
      return r.error === undefined;
    } catch {
      return false;
    } finally {
      nc.close();
    }
  };

  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    try {
      await waitFor(async () => {
        for (let i = 0; i < nodes.length; i++) if (running(i) && !(await nodeHealthy(i))) return false;
        for (let i = 0; i < nodes.length; i++) if (running(i) && !(await jsApiAnswers(i))) return false;
        return true;
      }, timeoutMs, 'every running nats-server healthy', 100);
    } catch (e) {
      const logs = nodes.map((n, i) => `--- ${n.serverName} ---\n${logTail(i, 15)}`).join('\n');
      throw new Error(`${(e as Error).message}\n${logs}`);
    }
  };

  const kill = async (i: number): Promise<void> => {
    const c = children[i];
    children[i] = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  };

  const jsz = async (i: number, query = ''): Promise<JszReply> => {
    const r = await httpJson<JszReply>(node(i).httpPort, `/jsz${query ? `?${query}` : ''}`);
    if (r.status !== 200 || !r.body) throw new Error(`/jsz of ${node(i).serverName} answered ${r.status}`);
    return r.body;
  };

  const streamLeader = async (stream: string): Promise<number | undefined> => {
    for (let i = 0; i < nodes.length; i++) {
      if (!running(i)) continue;
      let reply: JszReply;
      try {
        reply = await jsz(i, 'accounts=true&streams=true');
      } catch {
        continue;
      }
      for (const acc of reply.account_details ?? []) {
        const leader = acc.stream_detail?.find((s) => s.name === stream)?.cluster?.leader;
        if (leader === undefined) continue;
        const at = nodes.findIndex((n) => n.serverName === leader);
        if (at >= 0 && running(at)) return at;
      }
    }
    return nodes.length === 1 && running(0) ? 0 : undefined;
  };

  const streamCurrent = async (stream: string): Promise<boolean> => {
    const leader = await streamLeader(stream);
    if (leader === undefined) return false;
    const reply = await jsz(leader, 'accounts=true&streams=true').catch(() => undefined);
    const d = reply?.account_details?.flatMap((a) => a.stream_detail ?? []).find((x) => x.name === stream);
    if (!d) return false;
    const names = new Set(nodes.filter((_, k) => running(k)).map((n) => n.serverName));
    return (d.cluster?.replicas ?? []).every((r) => !names.has(r.name) || r.current);
  };

  for (let i = 0; i < nodes.length; i++) spawnNode(i);
  const cluster: NatsCluster = {
    nodes,
    natsUrls: nodes.map((n) => n.natsUrl),
    mqttUrls: nodes.map((n) => n.mqttUrl),
    running,
    kill,
    restart: async (i) => {
      await kill(i);
      spawnNode(i);
      await waitFor(() => nodeHealthy(i), 30_000, `${node(i).serverName} healthy again`, 100).catch((e: Error) => {
        throw new Error(`${e.message}\n${logTail(i)}`);
      });
    },
    jsz,
    streamLeader,
    waitStreamLeader: (stream, timeoutMs = 20_000) => waitFor(() => streamLeader(stream), timeoutMs, `a leader for stream ${stream}`, 100),
    waitStreamCurrent: async (stream, timeoutMs = 30_000) => {
      await waitFor(() => streamCurrent(stream), timeoutMs, `every running replica of ${stream} current`, 100);
    },
    waitHealthy,
    logTail,
    stop: async () => {
      for (let i = 0; i < nodes.length; i++) await kill(i);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitHealthy();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/**
 * An embedded MQTT broker (aedes) for tests: plain TCP, TLS (mqtts, optionally requiring a
 * client certificate) and WebSocket (ws) listeners on port 0, plus a throw-away PKI made with
 * the openssl CLI (a CA, a server certificate for 127.0.0.1/localhost, a client certificate).
 * Records the CONNECT of each client (username, protocol version) so tests can check what
 * the driver sent.
 */
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate (127.0.0.1, localhost) and a client certificate, all signed by the CA. */
export function makeTestPki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const f = (n: string): string => join(dir, n);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=sfa test CA');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext'));
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', '/CN=edge-agent');
  ssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('client.pem'), '-days', '2', '-extfile', f('client.ext'));
  return { dir, ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

export interface ConnectRecord {
  clientId: string;
  username: string | undefined;
  protocolVersion: number;
  /** the CN of the TLS client certificate, when there was one */
  certCn: string | undefined;
}

export class TestBroker {
  readonly connects: ConnectRecord[] = [];
  broker: Aedes | undefined;
  private readonly servers: (Server | HttpServer)[] = [];
  private readonly sockets = new Set<Socket>();
  private wss: WebSocketServer | undefined;

  async start(opts: { tls?: TestPki; users?: Record<string, string> } = {}): Promise<{ mqtt: string; mqtts?: string; ws: string }> {
    const broker = await Aedes.createBroker({ id: 'sfa-test-broker' });
    this.broker = broker;
    broker.preConnect = (client, packet, done) => {
      const conn = (client as unknown as { conn?: { getPeerCertificate?: () => { subject?: { CN?: string } } } }).conn;
      const cn = conn?.getPeerCertificate?.()?.subject?.CN;
      this.connects.push({ clientId: packet.clientId, username: packet.username, protocolVersion: packet.protocolVersion ?? 4, certCn: typeof cn === 'string' ? cn : undefined });
      done(null, true);
    };
    if (opts.users) {
      const users = opts.users;
      broker.authenticate = (_client, username, password, done) => {
        const ok = username !== undefined && users[username] !== undefined && password?.toString() === users[username];
        done(ok ? null : Object.assign(new Error('bad user name or password'), { returnCode: 4 }), ok);
      };
    }
    const track = (s: Socket): void => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    };
    const listen = async (server: Server | HttpServer): Promise<number> => {
      this.servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const a = server.address();
      return typeof a === 'object' && a ? a.port : 0;
    };
    const plain = createServer((s) => {
      track(s);
      broker.handle(s);
    });
    const urls: { mqtt: string; mqtts?: string; ws: string } = { mqtt: `mqtt://127.0.0.1:${await listen(plain)}`, ws: '' };
    if (opts.tls) {
      const t = opts.tls;
      const secure = createTlsServer({ key: readFileSync(t.serverKey), cert: readFileSync(t.serverCert), ca: readFileSync(t.ca), requestCert: true, rejectUnauthorized: true }, (s) => {
        track(s);
        broker.handle(s);
      });
      urls.mqtts = `mqtts://127.0.0.1:${await listen(secure as unknown as Server)}`;
    }
    const http = createHttpServer();
    http.on('connection', track);
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => broker.handle(createWebSocketStream(ws)));
    this.wss = wss;
    urls.ws = `ws://127.0.0.1:${await listen(http)}/mqtt`;
    return urls;
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    this.wss?.close();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

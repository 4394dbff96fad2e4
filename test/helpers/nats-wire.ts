/**
 * A small NATS client for tests, speaking the text protocol over TCP (INFO/CONNECT/PING/PONG,
 * PUB/SUB/MSG/HMSG): enough to publish, subscribe and call the JetStream API by request/reply,
 * so the tests check the broker without going through the code under test.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface WireMessage {
  subject: string;
  reply?: string;
  /** raw header block ("NATS/1.0 …\r\nKey: value\r\n\r\n"), when the message had headers */
  headers?: string;
  data: Buffer;
}

export interface WireClient {
  publish(subject: string, data: string | Buffer, reply?: string): void;
  subscribe(subject: string, onMessage: (m: WireMessage) => void): () => void;
  request(subject: string, data: string | Buffer, timeoutMs?: number): Promise<WireMessage>;
  /** request with a JSON body, JSON reply */
  api<T>(subject: string, body?: unknown, timeoutMs?: number): Promise<T>;
  flush(): Promise<void>;
  /** true once the connection is gone (no reconnect: open a new client) */
  closed(): boolean;
  close(): void;
}

const CRLF = Buffer.from('\r\n');

export async function wireConnect(url: string, timeoutMs = 5_000): Promise<WireClient> {
  const u = new URL(url.split(',')[0] as string);
  const sock: Socket = tcpConnect({ host: u.hostname, port: Number(u.port || 4222) });
  let buf: Buffer = Buffer.alloc(0);
  let sid = 0;
  const subs = new Map<number, (m: WireMessage) => void>();
  const pongs: (() => void)[] = [];
  let failed: Error | undefined;
  let greeted: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    greeted = resolve;
    sock.once('error', reject);
    setTimeout(() => reject(new Error(`no NATS INFO from ${url} within ${timeoutMs} ms`)), timeoutMs).unref();
  });

  const parse = (): void => {
    for (;;) {
      const eol = buf.indexOf(CRLF);
      if (eol < 0) return;
      const line = buf.subarray(0, eol).toString('utf8');
      const [op = '', ...args] = line.split(' ').filter((s) => s.length > 0);
      const verb = op.toUpperCase();
      if (verb === 'MSG' || verb === 'HMSG') {
        const total = Number(args[args.length - 1]);
        if (buf.length < eol + 2 + total + 2) return;
        const body = buf.subarray(eol + 2, eol + 2 + total);
        buf = buf.subarray(eol + 2 + total + 2);
        const hdrLen = verb === 'HMSG' ? Number(args[args.length - 2]) : 0;
        const reply = args.length === (verb === 'HMSG' ? 5 : 4) ? args[2] : undefined;
        const m: WireMessage = { subject: args[0] as string, data: Buffer.from(body.subarray(hdrLen)) };
        if (reply !== undefined) m.reply = reply;
        if (hdrLen > 0) m.headers = body.subarray(0, hdrLen).toString('utf8');
        subs.get(Number(args[1]))?.(m);
        continue;
      }
      buf = buf.subarray(eol + 2);
      if (verb === 'INFO') {
        sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, lang: 'sfa-test', version: '0' })}\r\nPING\r\n`);
        pongs.push(greeted);
      } else if (verb === 'PING') sock.write('PONG\r\n');
      else if (verb === 'PONG') pongs.shift()?.();
      else if (verb === '-ERR') failed = new Error(`NATS ${line}`);
    }
  };
  sock.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    parse();
  });
  sock.on('error', (e) => {
    failed = e;
  });
  sock.on('close', () => {
    failed ??= new Error(`NATS connection to ${url} closed`);
  });
  await ready;

  const inbox = `_INBOX.${randomBytes(8).toString('hex')}`;
  const waiting = new Map<string, (m: WireMessage) => void>();
  let reqId = 0;
  const client: WireClient = {
    publish: (subject, data, reply) => {
      const body = typeof data === 'string' ? Buffer.from(data) : data;
      sock.write(`PUB ${subject}${reply ? ` ${reply}` : ''} ${body.length}\r\n`);
      sock.write(Buffer.concat([body, CRLF]));
    },
    subscribe: (subject, onMessage) => {
      const id = ++sid;
      subs.set(id, onMessage);
      sock.write(`SUB ${subject} ${id}\r\n`);
      return () => {
        subs.delete(id);
        if (!sock.destroyed) sock.write(`UNSUB ${id}\r\n`);
      };
    },
    request: (subject, data, timeout = 5_000) => {
      if (failed) return Promise.reject(failed);
      const reply = `${inbox}.${++reqId}`;
      return new Promise<WireMessage>((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(reply);
          reject(new Error(`no reply to ${subject} within ${timeout} ms`));
        }, timeout);
        waiting.set(reply, (m) => {
          clearTimeout(t);
          waiting.delete(reply);
          if (m.headers?.startsWith('NATS/1.0 503')) reject(new Error(`no responders for ${subject}`));
          else resolve(m);
        });
        client.publish(subject, data, reply);
      });
    },
    api: async <T>(subject: string, body?: unknown, timeout?: number): Promise<T> => {
      const m = await client.request(subject, body === undefined ? '' : JSON.stringify(body), timeout);
      return JSON.parse(m.data.toString('utf8')) as T;
    },
    flush: () =>
      new Promise<void>((resolve) => {
        pongs.push(resolve);
        sock.write('PING\r\n');
      }),
    closed: () => sock.destroyed || sock.readyState === 'closed',
    close: () => {
      sock.destroy();
    },
  };
  client.subscribe(`${inbox}.*`, (m) => waiting.get(m.subject)?.(m));
  return client;
}

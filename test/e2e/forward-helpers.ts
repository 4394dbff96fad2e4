/**
 * Helpers of the store-and-forward tests: a TCP proxy in front of Mosquitto that the test
 * switches on and off (the "uplink"), and a subscriber that records everything the central
 * broker receives under a topic prefix.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';

export interface Uplink {
  port: number;
  up(): void;
  /** refuse new connections and cut the open ones (a cable pulled) */
  down(): void;
  /** keep connections open but let nothing through towards the broker (a link that silently
   * loses packets): what the client sends now is never delivered, never acknowledged */
  stall(): void;
  close(): Promise<void>;
}

export async function startUplink(target: { host: string; port: number }, initiallyUp: boolean): Promise<Uplink> {
  let isUp = initiallyUp;
  const sockets = new Set<Socket>();
  const clients = new Map<Socket, Socket>();
  const server: Server = createServer((client) => {
    if (!isUp) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    clients.set(client, upstream);
    client.once('close', () => clients.delete(client));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    up: () => {
      isUp = true;
    },
    down: () => {
      isUp = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    stall: () => {
      for (const [client, upstream] of clients) {
        client.unpipe(upstream);
        client.on('data', () => {}); // read and discard
      }
    },
    close: async () => {
      isUp = false;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface SamplesMessage {
  agent: string;
  site: string;
  /** the buffer's instance and the chain's link (README "Upstream") */
  instance?: string;
  prevLastId?: number;
  firstId: number;
  lastId: number;
  samples: { id: number; machine: string; signal: string; ts: number; value: unknown; quality: string }[];
}

export interface Recorded {
  topic: string;
  retain: boolean;
  payload: string;
}

/** Subscribes to `{prefix}/#` at QoS 1 and keeps every message, in arrival order. */
export class Recorder {
  readonly messages: Recorded[] = [];
  /** every sample id received, per agent, in arrival order (duplicates included) */
  readonly ids = new Map<string, number[]>();
  private client: MqttClient | undefined;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {}

  async start(): Promise<void> {
    const c = mqtt.connect(this.url, { clientId: `rec-${Math.random().toString(36).slice(2)}`, clean: true, reconnectPeriod: 500 });
    this.client = c;
    c.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      this.messages.push({ topic, retain: packet.retain, payload: text });
      if (topic.endsWith('/samples')) {
        const m = JSON.parse(text) as SamplesMessage;
        const list = this.ids.get(m.agent) ?? [];
        for (const s of m.samples) list.push(s.id);
        this.ids.set(m.agent, list);
      }
    });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    await c.subscribeAsync(`${this.prefix}/#`, { qos: 1 });
  }

  distinct(agent: string): Set<number> {
    return new Set(this.ids.get(agent) ?? []);
  }

  /** ids in order of first arrival (after de-duplication) */
  firstArrivals(agent: string): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    for (const id of this.ids.get(agent) ?? []) {
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(id);
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}

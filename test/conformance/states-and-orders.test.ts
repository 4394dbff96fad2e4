/**
 * One plant model, read the same everywhere: for each source type, raw state codes (mapped by
 * the machine's stateMap) and orders (an `order_id` tag, or MES order events over MQTT) reach
 * the agent through the real driver, and the tile, `/api/machines`, `/api/kpis`,
 * `groupBy=order` and the machine page's order table agree on state time and lead times.
 *
 * Timeline, two whole past hours [T0, T0 + 2 h):
 *   states  T0 running (code 1), +20 min idle (2), +30 min running (1), +80 min down (3)
 *   orders  A-1 from T0, B-2 from +60 min, C-3 from +100 min (still open)
 * so running 70 min, idle 10 min, down 40 min; by order A-1 3000 s running + 600 s idle,
 * B-2 1200 s running + 1200 s down, C-3 1200 s down. Lead times: from the order's start
 * (order_id: 3600 s and 2400 s), or from its release (MES events: 5400 s and 4200 s).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { ModbusTestDevice } from '../../drivers/modbus/modbus-test-device.ts';
import { tagNodeId } from '../helpers/opcua-test-server.ts';
import { mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { mqttPublisher, mqttSource, opcuaPeer, sparkplugNode } from '../helpers/conformance-peers.ts';

const HOUR = 3_600_000;
const MIN = 60_000;
const T2 = Math.floor(Date.now() / HOUR) * HOUR;
const T0 = T2 - 2 * HOUR;
const STATE_MAP = `{ "1": running, "2": idle, "3": down }`;
const STATES: [number, number][] = [
  [T0, 1],
  [T0 + 20 * MIN, 2],
  [T0 + 30 * MIN, 1],
  [T0 + 80 * MIN, 3],
];
const ORDER_STARTS: [number, number][] = [
  [T0, 0],
  [T0 + 60 * MIN, 1],
  [T0 + 100 * MIN, 2],
];
const ORDER_IDS = ['A-1', 'B-2', 'C-3'];

type Event = { ts: number; signal: 'state'; code: number } | { ts: number; signal: 'order'; index: number };

interface Peer {
  source: string;
  /** the signal the driver stores for orders, and whether order ids are numbers (a Modbus register) */
  orders: 'order_id' | 'order_event';
  orderId(index: number): string;
  /** lead time of orders A-1 and B-2, and what it is measured from */
  leadTimesS: [number, number];
  leadTimeFrom: 'started' | 'released';
  /** delivers one event; false when the source needs the clock set to `ts` (it stamps the receive time) */
  send(e: Event): Promise<void>;
  stop(): Promise<void>;
}

interface Case {
  type: string;
  machine: string;
  receiveTime: boolean;
  needsBroker: boolean;
  peer(): Promise<Peer>;
}

const timeline = (): Event[] =>
  [
    ...STATES.map(([ts, code]): Event => ({ ts, signal: 'state', code })),
    ...ORDER_STARTS.map(([ts, index]): Event => ({ ts, signal: 'order', index })),
  ].sort((a, b) => a.ts - b.ts || (a.signal === 'state' ? -1 : 1));

const CASES: Case[] = [
  {
    type: 'opcua',
    machine: 'so-ua',
    receiveTime: false,
    needsBroker: false,
    async peer() {
      const ua = await opcuaPeer();
      const server = ua.server;
      const put = (e: Event): void => {
        if (e.signal === 'state') server.setTag(0, e.code, new Date(e.ts));
        else server.setValue('Text', ORDER_IDS[e.index], new Date(e.ts));
      };
      // the values of T0 are there before the agent subscribes
      for (const e of timeline().filter((x) => x.ts === T0)) put(e);
      return {
        source: ua.source(`      - { nodeId: "${tagNodeId(0)}", machine: so-ua, signal: state }
      - { nodeId: "ns=1;s=Values.Text", machine: so-ua, signal: order_id }`),
        orders: 'order_id',
        orderId: (i) => ORDER_IDS[i] as string,
        leadTimesS: [3600, 2400],
        leadTimeFrom: 'started',
        async send(e) {
          if (e.ts !== T0) put(e);
        },
        stop: () => ua.stop(),
      };
    },
  },
  {
    type: 'mqtt (JSON states, MES order events)',
    machine: 'so-mq',
    receiveTime: false,
    needsBroker: true,
    async peer() {
      const prefix = uniqueTopicPrefix('states-orders');
      const pub = await mqttPublisher();
      const ev = (orderId: string, event: string, ts: number): string => JSON.stringify({ orderId, event, ts: new Date(ts).toISOString(), machine: 'so-mq', product: 'bracket' });
      return {
        source: mqttSource(
          'src',
          `    topics:
      - { filter: "${prefix}/+/data", machine: "{1}", timestamp: { field: ts, unit: ms }, fields: { state: st } }
      - { filter: "${prefix}/orders", format: order-events }`,
        ),
        orders: 'order_event',
        orderId: (i) => ORDER_IDS[i] as string,
        leadTimesS: [5400, 4200],
        leadTimeFrom: 'released',
        async send(e) {
          if (e.signal === 'state') {
            await pub.publishAsync(`${prefix}/so-mq/data`, JSON.stringify({ ts: e.ts, st: e.code }), { qos: 1 });
            return;
          }
          const id = ORDER_IDS[e.index] as string;
          const messages = [ev(id, 'released', e.ts - 30 * MIN), ev(id, 'started', e.ts)];
          const prev = ORDER_IDS[e.index - 1];
          if (prev !== undefined) messages.push(ev(prev, 'completed', e.ts));
          for (const m of messages) await pub.publishAsync(`${prefix}/orders`, m, { qos: 1 });
        },
        async stop() {
          await pub.endAsync();
        },
      };
    },
  },
  {
    type: 'modbus',
    machine: 'so-mb',
    receiveTime: true,
    needsBroker: false,
    async peer() {
      const device = new ModbusTestDevice();
      const put = (e: Event): void => {
        if (e.signal === 'state') device.memory.holding.set(0, e.code);
        else device.memory.holding.set(1, 4711 + e.index);
      };
      for (const e of timeline().filter((x) => x.ts === T0)) put(e);
      const port = await device.start();
      return {
        source: `
  - id: src
    type: modbus
    host: 127.0.0.1
    port: ${port}
    intervalMs: 100
    reconnect: { minMs: 100, maxMs: 500 }
    registers:
      - { machine: so-mb, signal: state, address: 0 }
      - { machine: so-mb, signal: order_id, address: 1 }`,
        orders: 'order_id',
        orderId: (i) => String(4711 + i),
        leadTimesS: [3600, 2400],
        leadTimeFrom: 'started',
        async send(e) {
          if (e.ts !== T0) put(e);
        },
        async stop() {
          await device.stop();
        },
      };
    },
  },
  {
    type: 'mqtt (Sparkplug B)',
    machine: 'so-sp',
    receiveTime: false,
    needsBroker: true,
    async peer() {
      const group = `sfa-so-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      const pub = await mqttPublisher();
      const publish = sparkplugNode(pub, group, 'cell');
      let born = false;
      const metric = (e: Event): { alias: number; type: 'Int32' | 'String'; value: number | string; timestamp: number } =>
        e.signal === 'state' ? { alias: 1, type: 'Int32', value: e.code, timestamp: e.ts } : { alias: 2, type: 'String', value: ORDER_IDS[e.index] as string, timestamp: e.ts };
      return {
        source: mqttSource(
          'src',
          `    sparkplug:
      groups: [${group}]
      metrics:
        - { metric: Machine/State, machine: so-sp, signal: state }
        - { metric: Machine/Order, machine: so-sp, signal: order_id }`,
        ),
        orders: 'order_id',
        orderId: (i) => ORDER_IDS[i] as string,
        leadTimesS: [3600, 2400],
        leadTimeFrom: 'started',
        async send(e) {
          if (e.ts === T0 && !born) {
            born = true;
            const first = timeline().filter((x) => x.ts === T0);
            await publish('NBIRTH', [{ name: 'bdSeq', type: 'UInt64', value: 0 }, ...first.map((x) => ({ ...metric(x), name: x.signal === 'state' ? 'Machine/State' : 'Machine/Order' }))], T0);
          } else if (e.ts !== T0) {
            await publish('NDATA', [metric(e)], e.ts);
          }
        },
        async stop() {
          await pub.endAsync();
        },
      };
    },
  },
];

interface Row {
  period?: string;
  runningS: number;
  idleS?: number;
  downS?: number;
  components: { idleS: number; downS: number };
  leadTime: { orders: number; meanS: number | null };
}

let brokerAvailable = false;
beforeAll(async () => {
  brokerAvailable = (await mosquitto()).available;
});

describe('state codes and orders: the tile, the KPIs, groupBy=order and the order table agree', () => {
  for (const c of CASES) {
    it(c.type, async (ctx) => {
      if (c.needsBroker && !brokerAvailable) ctx.skip();
      const dir = mkdtempSync(join(tmpdir(), 'sfa-states-orders-'));
      const peer = await c.peer();
      let now = T0;
      const clock = c.receiveTime ? vi.spyOn(Date, 'now').mockImplementation(() => now) : undefined;
      const res = loadConfigText(
        `
site: { id: so, timezone: UTC }
agent: { id: so-${process.pid}, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [{ id: ${c.machine}, product: bracket, stateMap: ${STATE_MAP} }]
sources:${peer.source}
`,
        { file: `${c.type}.yaml` },
      );
      if (!res.ok) throw new Error(JSON.stringify(res.problems));
      const agent = new Agent(res.config, pino({ level: 'silent' }));
      try {
        const port = (await agent.start()).httpPort;
        await waitFor(() => agent.health().sources[0]?.state === 'connected', 15_000, 'connected');
        const NAMES: Record<number, string> = { 1: 'running', 2: 'idle', 3: 'down' };
        // stored at its time with its value (a source polled at the new time may first report the old value)
        const stored = (e: Event): boolean =>
          agent.buffer.latest(c.machine).some((l) => {
            if (e.signal === 'state') return l.signal === 'state' && l.ts >= e.ts && l.value === NAMES[e.code];
            if (peer.orders === 'order_event') return l.signal === 'order_event' && l.ts >= e.ts;
            return l.signal === 'order_id' && l.ts >= e.ts && String(l.value) === peer.orderId(e.index);
          });
        for (const e of timeline()) {
          if (c.receiveTime && e.ts !== now) {
            now = e.ts;
            await new Promise((r) => setTimeout(r, 250)); // polls at the new time read the old values: no change
          }
          await waitFor(
            async () => {
              await peer.send(e);
              return stored(e);
            },
            15_000,
            `${e.signal} at ${new Date(e.ts).toISOString()}`,
            c.needsBroker ? 400 : 100,
          );
        }
        clock?.mockRestore();
        const get = async <T>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as T;
        const win = `from=${new Date(T0).toISOString()}&to=${new Date(T2).toISOString()}&machine=${c.machine}`;

        // the codes were mapped once, before the buffer: the tile and /api/machines read names
        expect(agent.buffer.latest(c.machine).find((l) => l.signal === 'state')?.value).toBe('down');
        const overview = await get<{ machines: { id: string; state: string | null; stateSince: string | null }[] }>('/api/overview');
        const tile = overview.machines.find((m) => m.id === c.machine);
        expect(tile).toMatchObject({ state: 'down', stateSince: new Date(T0 + 80 * MIN).toISOString() });
        const machines = await get<{ id: string; state: string | null; stateSince: string | null }[]>('/api/machines');
        expect(machines.find((m) => m.id === c.machine)).toMatchObject({ state: 'down', stateSince: tile?.stateSince });

        // state time and lead times over the window
        const whole = (await get<{ rows: Row[] }>(`/api/kpis?${win}`)).rows[0] as Row;
        expect(whole.runningS).toBe(4200);
        expect(whole.components).toMatchObject({ idleS: 600, downS: 2400 });
        const [a1, b2] = peer.leadTimesS;
        expect(whole.leadTime).toMatchObject({ orders: 2, meanS: (a1 + b2) / 2 });

        // by order: each order's state time, and its own lead time
        const byOrder = (await get<{ rows: Row[] }>(`/api/kpis?${win}&groupBy=order`)).rows;
        const ids = [0, 1, 2].map((i) => peer.orderId(i));
        expect(byOrder.map((r) => r.period)).toEqual(ids);
        expect(byOrder.map((r) => [r.runningS, r.components.idleS, r.components.downS])).toEqual([
          [3000, 600, 0],
          [1200, 0, 1200],
          [0, 0, 1200],
        ]);
        expect(byOrder.map((r) => r.leadTime.meanS)).toEqual([a1, b2, null]);
        expect(byOrder.reduce((n, r) => n + r.runningS, 0)).toBe(whole.runningS);

        // the machine page's order table says the same
        const table = await get<{ orders: { orderId: string; leadTimeS: number | null; leadTimeFrom: string | null; completedAt: string | null }[] }>(
          `/api/machines/${c.machine}/orders?from=${new Date(T0 - HOUR).toISOString()}&to=${new Date(Date.now()).toISOString()}`,
        );
        const byId = new Map(table.orders.map((o) => [o.orderId, o]));
        expect([...byId.keys()].sort()).toEqual([...ids].sort());
        expect(byId.get(ids[0] as string)).toMatchObject({ leadTimeS: a1, leadTimeFrom: peer.leadTimeFrom, completedAt: new Date(T0 + 60 * MIN).toISOString() });
        expect(byId.get(ids[1] as string)).toMatchObject({ leadTimeS: b2, leadTimeFrom: peer.leadTimeFrom, completedAt: new Date(T0 + 100 * MIN).toISOString() });
        expect(byId.get(ids[2] as string)).toMatchObject({ leadTimeS: null, completedAt: null });
      } finally {
        clock?.mockRestore();
        await agent.stop();
        await peer.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

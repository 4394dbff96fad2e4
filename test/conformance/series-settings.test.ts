/**
 * Conformance of per-series settings: for every way the config schema lets a user declare
 * `scale`, `rollover` and `staleAfterS` (an OPC UA tag, an MQTT topic and an MQTT field with
 * fixed and captured machines, Modbus `registers`, `groups[]`, `devices[]` and
 * `devices[].groups[]`, a Sparkplug rule), a counter that wraps is counted exactly, through
 * the real driver and the whole agent:
 *   (a) a window answered from raw samples,
 *   (b) a window of whole past hours answered from the hour rollups,
 *   (c) the same window grouped by hour, summed;
 * and the series' silence past `staleAfterS` shows on its tile.
 * The cases are checked against config/schema.json: a new place to declare one of the three
 * keys without a case here fails the first test.
 *
 * Sources that stamp samples with the receive time (plain MQTT, Modbus) get a clock set to
 * the past (`Date.now` only, moved forward only); the others carry their timestamps.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';
import { KpiService } from '../../agent/kpi-query/index.ts';
import { ModbusTestDevice, toWords } from '../../drivers/modbus/modbus-test-device.ts';
import { tagNodeId } from '../helpers/opcua-test-server.ts';
import { mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { mqttPublisher, mqttSource, opcuaPeer, sparkplugNode } from '../helpers/conformance-peers.ts';

const HOUR = 3_600_000;
const MIN = 60_000;
/** the three past hours the counter runs through: [H0, H3), H3 the start of the current hour */
const H3 = Math.floor(Date.now() / HOUR) * HOUR;
const H0 = H3 - 3 * HOUR;
/** raw readings: the counter wraps at 1000 between 990 and 10 (a reset would count 10, not 20) */
const RAW: [number, number][] = [
  [H0 + 10 * MIN, 900],
  [H0 + 40 * MIN, 950],
  [H0 + HOUR + 10 * MIN, 990],
  [H0 + HOUR + 40 * MIN, 10],
  [H0 + 2 * HOUR + 10 * MIN, 30],
  [H0 + 2 * HOUR + 40 * MIN, 50],
];
const ROLLOVER = 1000;
/** raw units per hour: 50 | 40 + 20 | 20 + 20 */
const RAW_PER_HOUR = [50, 60, 40];
const STALE_S = 60;
/**
 * Listed before the source under test: another source whose template fits every machine name
 * and declares other settings. Only the source that delivered a series may say how it wraps.
 */
const DECOY = mqttSource(
  'decoy',
  `    topics:
      - { filter: "sfa-conf-decoy-${process.pid}/+/+", format: plain, machine: "{1}", signal: "{2}", rollover: 5000, staleAfterS: 99999 }`,
);
const SETTINGS = ['scale', 'rollover', 'staleAfterS'];

interface Peer {
  /** the `sources:` item of the config */
  source: string;
  /** delivers one raw reading measured at `ts` */
  send(raw: number, ts: number): Promise<void>;
  stop(): Promise<void>;
}

interface Case {
  name: string;
  /** the schema object (config/schema.json path) that declares the three settings in this case */
  declares: string;
  /** a machine named in machines[], or captured from the data */
  machine: string;
  captured: boolean;
  scale: number;
  /** the source stamps samples with the time they arrive */
  receiveTime: boolean;
  needsBroker: boolean;
  peer(): Promise<Peer>;
}

const settings = (scale: number): string => `scale: ${scale}, rollover: ${ROLLOVER}, staleAfterS: ${STALE_S}`;

function opcuaCase(): Case {
  return {
    name: 'OPC UA tag',
    declares: 'sources[].tags[]',
    machine: 'ua-1',
    captured: false,
    scale: 0.5,
    receiveTime: false,
    needsBroker: false,
    async peer() {
      const ua = await opcuaPeer();
      const server = ua.server;
      // the first reading is there before the agent subscribes (no value of "now" in the past hours)
      server.setTag(0, (RAW[0] as [number, number])[1], new Date((RAW[0] as [number, number])[0]));
      let first = true;
      return {
        source: ua.source(`      - { nodeId: "${tagNodeId(0)}", machine: ua-1, signal: parts_total, ${settings(0.5)} }`),
        async send(raw, ts) {
          if (first) {
            first = false;
            return;
          }
          server.setTag(0, raw, new Date(ts));
        },
        stop: () => ua.stop(),
      };
    },
  };
}

function mqttCase(c: { name: string; declares: string; machine: string; captured: boolean; scale: number; topic: (prefix: string) => string; format: 'json' | 'plain' }): Case {
  return {
    name: c.name,
    declares: c.declares,
    machine: c.machine,
    captured: c.captured,
    scale: c.scale,
    receiveTime: c.format === 'plain',
    needsBroker: true,
    async peer() {
      const prefix = uniqueTopicPrefix('conformance');
      const pub = await mqttPublisher();
      const topic = `${prefix}/${c.machine}/data`;
      return {
        source: mqttSource('src', `    topics:\n${c.topic(prefix)}`),
        async send(raw, ts) {
          await pub.publishAsync(topic, c.format === 'plain' ? String(raw) : JSON.stringify({ ts, count: { total: raw } }), { qos: 1 });
        },
        async stop() {
          await pub.endAsync();
        },
      };
    },
  };
}

function modbusCase(name: string, declares: string, layout: (register: string) => string): Case {
  return {
    name,
    declares,
    machine: 'mb-1',
    captured: false,
    scale: 2,
    receiveTime: true,
    needsBroker: false,
    async peer() {
      const device = new ModbusTestDevice();
      // the register holds the first reading before the agent's first poll
      device.memory.holding.set(7, (toWords('uint16', (RAW[0] as [number, number])[1]) as [number])[0]);
      const port = await device.start();
      const register = `{ machine: mb-1, signal: parts_total, table: holding, address: 7, type: uint16, ${settings(2)} }`;
      return {
        source: layout(register).replaceAll('PORT', String(port)),
        async send(raw) {
          device.memory.holding.set(7, (toWords('uint16', raw) as [number])[0]);
        },
        async stop() {
          await device.stop();
        },
      };
    },
  };
}

function sparkplugCase(): Case {
  return {
    name: 'Sparkplug rule, machine from the edge node, signal snake-cased by the host',
    declares: 'sources[].sparkplug.metrics[]',
    machine: `sp-press-${process.pid}`,
    captured: true,
    scale: 3,
    receiveTime: false,
    needsBroker: true,
    async peer() {
      const group = `sfa-conf-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      const node = `sp-press-${process.pid}`;
      const pub = await mqttPublisher();
      const send = sparkplugNode(pub, group, node);
      let born = false;
      return {
        source: mqttSource(
          'src',
          `    sparkplug:
      groups: [${group}]
      metrics:
        - { metric: "Count/Total", machine: "{node}", signal: PartsTotal, ${settings(3)} }`,
        ),
        async send(raw, ts) {
          if (born) {
            await send('NDATA', [{ alias: 1, type: 'UInt64', value: raw, timestamp: ts }], ts);
            return;
          }
          born = true;
          await send('NBIRTH', [{ name: 'bdSeq', alias: 0, type: 'UInt64', value: 0 }, { name: 'Count/Total', alias: 1, type: 'UInt64', value: raw, timestamp: ts }], ts);
        },
        async stop() {
          await pub.endAsync();
        },
      };
    },
  };
}

const MODBUS_DEVICE = `
  - id: src
    type: modbus
    reconnect: { minMs: 100, maxMs: 500 }`;

const CASES: Case[] = [
  opcuaCase(),
  mqttCase({
    name: 'MQTT topic (plain), fixed machine',
    declares: 'sources[].topics[]',
    machine: 'mq-fixed',
    captured: false,
    scale: 0.25,
    format: 'plain',
    topic: (p) => `      - { filter: "${p}/mq-fixed/data", format: plain, machine: mq-fixed, signal: parts_total, ${settings(0.25)} }`,
  }),
  mqttCase({
    name: 'MQTT topic (json), captured machine',
    declares: 'sources[].topics[]',
    machine: 'mq-captured',
    captured: true,
    scale: 2,
    format: 'json',
    topic: (p) => `      - { filter: "${p}/+/data", machine: "{1}", timestamp: { field: ts, unit: ms }, fields: { parts_total: count.total }, ${settings(2)} }`,
  }),
  mqttCase({
    name: 'MQTT field, fixed machine (the field overrides its topic)',
    declares: 'sources[].topics[].fields.*',
    machine: 'mq-field',
    captured: false,
    scale: 4,
    format: 'json',
    topic: (p) =>
      `      - { filter: "${p}/mq-field/data", machine: mq-field, scale: 7, rollover: 50000, staleAfterS: 99999, timestamp: { field: ts, unit: ms }, fields: { parts_total: { path: count.total, ${settings(4)} } } }`,
  }),
  mqttCase({
    name: 'MQTT field, captured machine',
    declares: 'sources[].topics[].fields.*',
    machine: 'mq-field-captured',
    captured: true,
    scale: 1,
    format: 'json',
    topic: (p) => `      - { filter: "${p}/+/data", machine: "{1}", timestamp: { field: ts, unit: ms }, fields: { parts_total: { path: count.total, ${settings(1)} } } }`,
  }),
  modbusCase('Modbus registers', 'sources[].registers[]', (r) => `${MODBUS_DEVICE}
    host: 127.0.0.1
    port: PORT
    intervalMs: 100
    registers: [${r}]`),
  modbusCase('Modbus groups[]', 'sources[].groups[].registers[]', (r) => `${MODBUS_DEVICE}
    host: 127.0.0.1
    port: PORT
    groups: [{ intervalMs: 100, registers: [${r}] }]`),
  modbusCase('Modbus devices[]', 'sources[].devices[].registers[]', (r) => `${MODBUS_DEVICE}
    devices: [{ id: d1, host: 127.0.0.1, port: PORT, intervalMs: 100, registers: [${r}] }]`),
  modbusCase('Modbus devices[].groups[]', 'sources[].devices[].groups[].registers[]', (r) => `${MODBUS_DEVICE}
    devices: [{ id: d1, host: 127.0.0.1, port: PORT, groups: [{ intervalMs: 100, registers: [${r}] }] }]`),
  sparkplugCase(),
];

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
}

/** Every schema object (by path) that has one of `keys`, e.g. "sources[].tags[]". */
function declaringObjects(s: JsonSchema, prefix: string, keys: readonly string[], out: Map<string, Set<string>>): void {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if (keys.includes(k)) out.set(prefix, (out.get(prefix) ?? new Set()).add(k));
    declaringObjects(sub, prefix ? `${prefix}.${k}` : k, keys, out);
  }
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) declaringObjects(alt, prefix, keys, out);
  if (s.items && !Array.isArray(s.items)) declaringObjects(s.items, `${prefix}[]`, keys, out);
  if (typeof s.additionalProperties === 'object') declaringObjects(s.additionalProperties, `${prefix}.*`, keys, out);
}

let brokerAvailable = false;
beforeAll(async () => {
  brokerAvailable = (await mosquitto()).available;
});

describe('per-series settings: every way to declare them', () => {
  it('has a case for every schema object that declares scale, rollover or staleAfterS, each declaring all three', () => {
    const schema = JSON.parse(readFileSync(new URL('../../config/schema.json', import.meta.url), 'utf8')) as JsonSchema;
    const found = new Map<string, Set<string>>();
    declaringObjects(schema, '', SETTINGS, found);
    expect([...found.keys()].sort()).toEqual([...new Set(CASES.map((c) => c.declares))].sort());
    for (const [path, keys] of found) expect([...keys].sort(), path).toEqual([...SETTINGS].sort());
    // fixed and captured machines both, where a declaration can capture its machine
    for (const d of ['sources[].topics[]', 'sources[].topics[].fields.*']) {
      expect(new Set(CASES.filter((c) => c.declares === d).map((c) => c.captured))).toEqual(new Set([false, true]));
    }
  });

  let clock: { mockRestore(): void } | undefined;
  afterEach(() => {
    clock?.mockRestore();
    clock = undefined;
  });

  for (const c of CASES) {
    it(`${c.name}: a wrapping counter counts the same from raw rows, hour rollups and hours summed; silence marks the tile stale`, async (ctx) => {
      if (c.needsBroker && !brokerAvailable) ctx.skip();
      const dir = mkdtempSync(join(tmpdir(), 'sfa-conformance-'));
      const peer = await c.peer();
      let now = (RAW[0] as [number, number])[0];
      if (c.receiveTime) clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
      const yaml = `
site: { id: conf, timezone: UTC }
agent: { id: conf-${process.pid}, dataDir: ${join(dir, 'data')} }
http: { port: 0 }
machines: [${c.captured ? '{ id: unrelated }' : `{ id: ${c.machine} }`}]
sources:${c.needsBroker ? DECOY : ''}${peer.source}
`;
      const res = loadConfigText(yaml, { file: `${c.name}.yaml` });
      if (!res.ok) throw new Error(JSON.stringify(res.problems));
      const agent = new Agent(res.config, pino({ level: 'silent' }));
      try {
        const port = (await agent.start()).httpPort;
        await waitFor(() => agent.health().sources.every((s) => s.state === 'connected'), 15_000, `${c.name} connected`);
        for (const [ts, raw] of RAW) {
          now = ts;
          if (c.receiveTime) await new Promise((r) => setTimeout(r, 250)); // a poll at the new time reads the old value: no change
          await waitFor(
            async () => {
              await peer.send(raw, ts);
              const l = agent.buffer.latest(c.machine).find((x) => x.signal === 'parts_total');
              return l !== undefined && l.ts === ts && l.value === raw * c.scale;
            },
            15_000,
            `${c.name}: ${raw} at ${new Date(ts).toISOString()} stored`,
            c.needsBroker ? 300 : 100,
          );
        }
        clock?.mockRestore();
        clock = undefined;
        // staleness: the last reading is more than STALE_S old
        const overview = (await (await fetch(`http://127.0.0.1:${port}/api/overview`)).json()) as { machines: { id: string; stale: boolean; staleReasons: string[] }[] };
        const tile = overview.machines.find((m) => m.id === c.machine);
        expect(tile?.stale).toBe(true);
        expect(tile?.staleReasons.join('; ')).toMatch(new RegExp(`parts_total silent for .* \\(staleAfterS ${STALE_S}\\)`));

        const total = RAW_PER_HOUR.reduce((a, b) => a + b, 0) * c.scale;
        const q = { from: H0, to: H3, machine: c.machine, groupBy: 'none' as const };
        // (a) raw rows only
        const raw = new KpiService(agent.plant, agent.buffer, { cache: false }).kpis(q);
        expect(raw[0]?.unitsTotal, 'raw window').toBeCloseTo(total, 9);
        // (b) whole past hours: the agent's query worker answers them from its hour rollups. It
        // reads them beside the agent, as written before each query: a resent reading committed
        // after that (the loop above sends until one is stored) sends its hour to raw rows, so
        // the readings inside the window stop first
        let lastInWindow = Date.now();
        agent.buffer.onCommit((stored) => {
          if (stored.some((x) => x.ts < H3)) lastInWindow = Date.now();
        });
        await waitFor(() => Date.now() - lastInWindow > 500, 15_000, `${c.name}: no more readings inside the window`);
        const before = (await agent.queries.stats()).hoursFromRollupTables;
        const api = async (path: string): Promise<{ rows: { unitsTotal: number | null }[] }> => (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as { rows: { unitsTotal: number | null }[] };
        const window = `from=${new Date(H0).toISOString()}&to=${new Date(H3).toISOString()}&machine=${c.machine}`;
        const whole = await api(`/api/kpis?${window}`);
        expect((await agent.queries.stats()).hoursFromRollupTables - before, 'hours answered from rollups').toBe(3);
        expect(whole.rows[0]?.unitsTotal, 'hours from rollups').toBeCloseTo(total, 9);
        // (c) grouped by hour
        const hours = await api(`/api/kpis?${window}&groupBy=hour`);
        expect(hours.rows.map((r) => r.unitsTotal)).toEqual(RAW_PER_HOUR.map((u) => expect.closeTo(u * c.scale, 9)));
        expect(hours.rows.reduce((n, r) => n + (r.unitsTotal ?? 0), 0)).toBeCloseTo(total, 9);
      } finally {
        clock?.mockRestore();
        clock = undefined;
        await agent.stop();
        await peer.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

/**
 * The fleet store's conformance suite: PostgreSQL (a schema per test, dropped after) and the
 * embedded SQLite store must behave the same — exactly-once samples, the contiguous cursor over
 * gaps and deliberate skips, hour revisions, plant and status, dead letters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PgStore, SqliteStore, type FleetStore } from '../../agent/fleet/store/index.ts';
import { postgres } from '../helpers/index.ts';
import { batch, dropSchema, hoursMessage, PG_TEST_URL, plantMessage, samplesMessage, T0, testSchema } from '../helpers/fleet-messages.ts';

interface Harness {
  open(): Promise<FleetStore>;
  cleanup(): Promise<void>;
}

function pgHarness(): Harness {
  const schemas: string[] = [];
  return {
    open: async () => {
      const schema = testSchema('conf');
      schemas.push(schema);
      return PgStore.open({ url: PG_TEST_URL, schema });
    },
    cleanup: async () => {
      for (const s of schemas.splice(0)) await dropSchema(s);
    },
  };
}

function sqliteHarness(): Harness {
  const dirs: string[] = [];
  return {
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sfa-fleet-store-'));
      dirs.push(dir);
      return SqliteStore.open(dir);
    },
    cleanup: async () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

const H = 3_600_000;

function suite(name: string, make: () => Harness, available: () => boolean): void {
  describe(`fleet store conformance: ${name}`, () => {
    const h = make();
    const open: FleetStore[] = [];
    const store = async (): Promise<FleetStore> => {
      const s = await h.open();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      await h.cleanup();
    });

    it('stores a batch once: the same batch again changes nothing', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      const b = batch({ samples: [samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 100 })] });
      expect(await s.commit(b)).toEqual({ stored: 100, duplicates: 0, confirmed: [{ instance: 'i1', site: 'site-a', agent: 'edge-1', confirmedId: 100 }] });
      expect(await s.commit(b)).toEqual({ stored: 0, duplicates: 100, confirmed: [{ instance: 'i1', site: 'site-a', agent: 'edge-1', confirmedId: 100 }] });
      expect(await s.sampleCount('i1')).toBe(100);
      expect(await s.confirmedId('i1')).toBe(100);
      expect(await s.confirmedId('nobody')).toBeNull();
      const [a] = await s.agents();
      expect(a).toMatchObject({ instance: 'i1', confirmedId: 100, lastId: 100, lastSampleTs: T0 + 100_000 });
    });

    it('stores once what one batch holds twice, also re-cut into other ranges', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      const m = (first: number, last: number): ReturnType<typeof samplesMessage> => samplesMessage({ instance: 'i1', prevLastId: first - 1, firstId: first, lastId: last });
      await s.commit(batch({ samples: [m(1, 10)] }));
      // a resend re-cut from id 6, the same message twice, new ids after a stored range
      const r = await s.commit(batch({ samples: [m(11, 20), m(6, 15), m(11, 20), m(21, 30), m(16, 25), m(31, 40)] }));
      expect(r).toMatchObject({ stored: 30, duplicates: 30 });
      expect(r.confirmed[0]?.confirmedId).toBe(40);
      expect(await s.sampleCount('i1')).toBe(40);
    });

    it('holds the cursor at a gap until the missing batch arrives, then passes every held-back batch', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      const b1 = samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 });
      const b2 = samplesMessage({ instance: 'i1', prevLastId: 10, firstId: 11, lastId: 20 });
      const b3 = samplesMessage({ instance: 'i1', prevLastId: 20, firstId: 21, lastId: 30 });
      expect((await s.commit(batch({ samples: [b3] }))).confirmed[0]?.confirmedId).toBe(0);
      expect((await s.commit(batch({ samples: [b2] }))).confirmed[0]?.confirmedId).toBe(0);
      expect((await s.commit(batch({ samples: [b1] }))).confirmed[0]?.confirmedId).toBe(30);
      expect(await s.sampleCount()).toBe(30);
    });

    it('passes ids the agent deliberately skipped (prevLastId chains over them)', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      await s.commit(batch({ samples: [samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 })] }));
      // 11…49 were dropped at buffer.maxBytes; the batch says it follows 10
      const r = await s.commit(batch({ samples: [samplesMessage({ instance: 'i1', prevLastId: 10, firstId: 50, lastId: 60, keep: (id) => id % 2 === 0 })] }));
      expect(r.confirmed[0]?.confirmedId).toBe(60);
      // a resend from the confirmed id after a rewind: prevLastId ≤ C, nothing new
      const again = await s.commit(batch({ samples: [samplesMessage({ instance: 'i1', prevLastId: 10, firstId: 50, lastId: 60, keep: (id) => id % 2 === 0 })] }));
      expect(again).toMatchObject({ stored: 0, confirmed: [{ confirmedId: 60 }] });
    });

    it('keeps instances apart: a wiped agent buffer restarts ids under a new instance', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      const r = await s.commit(batch({ samples: [samplesMessage({ instance: 'old', prevLastId: 0, firstId: 1, lastId: 5 }), samplesMessage({ instance: 'new', prevLastId: 0, firstId: 1, lastId: 3 })] }));
      expect(r.stored).toBe(8);
      expect(r.confirmed.map((c) => [c.instance, c.confirmedId])).toEqual([['new', 3], ['old', 5]]);
    });

    it('keeps the highest revision of an hour, and sums units until a time', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      await s.commit(batch({ hours: [hoursMessage({ instance: 'i1', machine: 'p1', hourStart: T0, revision: 1, c: { unitsTotal: 10, unitsGood: 9, unitsScrap: 1, energyKwh: 2 } })] }));
      await s.commit(batch({ hours: [hoursMessage({ instance: 'i1', machine: 'p1', hourStart: T0, revision: 2, c: { unitsTotal: 12, unitsGood: 11, unitsScrap: 1, energyKwh: 2.5 } })] }));
      await s.commit(batch({ hours: [hoursMessage({ instance: 'i1', machine: 'p1', hourStart: T0, revision: 1, c: { unitsTotal: 99 } })] }));
      await s.commit(batch({ hours: [hoursMessage({ instance: 'i1', machine: 'p1', hourStart: T0 + H, revision: 0, c: { unitsTotal: 5 } })] }));
      const hours = await s.hours(T0, T0 + 2 * H);
      expect(hours.map((x) => [x.hourStart, x.revision, x.components.unitsTotal])).toEqual([[T0, 2, 12], [T0 + H, 0, 5]]);
      expect(hours[0]?.components.energyKwh).toBe(2.5);
      expect(await s.hours(T0 + H, T0 + 2 * H)).toHaveLength(1);
      expect((await s.hours(T0, T0 + 2 * H, 1)).map((x) => x.hourStart)).toEqual([T0]);
      expect(await s.unitsUntil(T0 + 2 * H)).toEqual([{ site: 'site-a', agent: 'edge-1', machine: 'p1', unitsTotal: 17 }]);
      expect(await s.oldestHour()).toBe(T0);
    });

    it('records the plant, the status and dead letters', async ({ skip }) => {
      if (!available()) skip();
      const s = await store();
      const at = T0 + 5000;
      await s.commit(batch({ statuses: [{ site: 'site-a', agent: 'edge-1', status: 'online', at }] }));
      await s.commit(batch({ plants: [plantMessage({ instance: 'i1', machines: [{ id: 'p1', name: 'Printer 1', line: 'additive', product: 'bracket', idealCycleTimeS: 30 }] })] }));
      await s.commit(batch({ statuses: [{ site: 'site-a', agent: 'edge-1', status: 'offline', at: at + 1 }], deadLetters: [{ topic: 'x/y', reason: 'not JSON', payload: '{', at }] }));
      expect(await s.sites()).toEqual([{ id: 'site-a', name: 'Site site-a', timezone: 'Europe/Berlin' }]);
      expect(await s.machines()).toEqual([{ site: 'site-a', agent: 'edge-1', id: 'p1', name: 'Printer 1', line: 'additive', product: 'bracket', idealCycleTimeS: 30 }]);
      expect((await s.agents())[0]).toMatchObject({ instance: 'i1', status: 'offline', statusAt: at + 1 });
      expect(await s.deadLetters(10)).toEqual([{ topic: 'x/y', reason: 'not JSON', payload: '{', at }]);
    });
  });
}

describe('fleet store: PostgreSQL keeps every value as sent', () => {
  const schema = testSchema('values');
  afterEach(async () => {
    if (pgUp) await dropSchema(schema);
  });

  it('stores text with quotes, backslashes, braces and "NULL", and numbers at the edges of float8, exactly', async ({ skip }) => {
    if (!pgUp) skip();
    const texts = ['', ' ', 'NULL', 'null', '"', '\\', '\\"', '{a,b}', 'a,b', ' lead and trail ', 'tab\there', 'line\nbreak', 'ünïcödé ✓', '😀'];
    const numbers = [0, -1.5, 1e21, -1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 123456789.123456789];
    const values: (number | string | boolean | null)[] = [...texts, ...numbers, true, false, null];
    const samples = values.map((value, i) => ({ id: i + 1, machine: i % 2 ? 'm"1\\' : 'm {1}', signal: texts[i % texts.length] || 'sig', ts: T0 + i, value, quality: 'good' as const }));
    const s = await PgStore.open({ url: PG_TEST_URL, schema });
    const c = new pg.Client({ connectionString: PG_TEST_URL });
    await c.connect();
    try {
      const m = { agent: 'edge-1', site: 'site-a', instance: 'i1', prevLastId: 0, firstId: 1, lastId: samples.length, samples };
      expect((await s.commit(batch({ samples: [m] }))).stored).toBe(samples.length);
      const r = await c.query<{ id: string; machine: string; signal: string; ts: number; value: number | null; text_value: string | null }>(
        `SELECT id, machine, signal, (extract(epoch FROM ts) * 1000)::float8 AS ts, value, text_value FROM "${schema}".samples ORDER BY id`,
      );
      expect(r.rows.map((x) => ({ id: Number(x.id), machine: x.machine, signal: x.signal, ts: Math.round(x.ts), value: x.value, text: x.text_value }))).toEqual(
        samples.map((x) => {
          const v = x.value;
          return { id: x.id, machine: x.machine, signal: x.signal, ts: x.ts, value: typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : null, text: typeof v === 'string' ? v : null };
        }),
      );
    } finally {
      await c.end();
      await s.close();
    }
  });
});

describe('fleet store: two PostgreSQL writers on one schema', () => {
  const schema = testSchema('two');
  afterEach(async () => {
    if (pgUp) await dropSchema(schema);
  });

  it('advance one instance\'s cursor to the end whatever the order and interleaving of their batches', async ({ skip }) => {
    if (!pgUp) skip();
    const [a, b] = await Promise.all([PgStore.open({ url: PG_TEST_URL, schema }), PgStore.open({ url: PG_TEST_URL, schema })]);
    try {
      const n = 40;
      const msgs = Array.from({ length: n }, (_, i) => samplesMessage({ instance: 'i1', prevLastId: i * 10, firstId: i * 10 + 1, lastId: (i + 1) * 10 }));
      // a fixed shuffle, every batch once to each writer's half, some twice
      const order = msgs.map((m, i) => ({ m, k: (i * 7919) % n })).sort((x, y) => x.k - y.k).map((x) => x.m);
      const halves = [order.filter((_, i) => i % 2 === 0), order.filter((_, i) => i % 2 === 1)];
      await Promise.all([
        (async () => {
          for (const m of halves[0] ?? []) await a.commit(batch({ samples: [m] }));
        })(),
        (async () => {
          for (const m of halves[1] ?? []) await b.commit(batch({ samples: [m] }));
          for (const m of (halves[0] ?? []).slice(0, 5)) await b.commit(batch({ samples: [m] }));
        })(),
      ]);
      expect(await a.sampleCount()).toBe(n * 10);
      expect(await b.confirmedId('i1')).toBe(n * 10);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

let pgUp = false;
beforeAll(async () => {
  pgUp = (await postgres()).available;
});
suite('PostgreSQL', pgHarness, () => pgUp);
suite('SQLite', sqliteHarness, () => true);

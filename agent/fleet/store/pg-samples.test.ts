/**
 * The PostgreSQL store's COPY paths against a real server (a schema per test): awkward text and
 * timestamps at the edges come back exactly, U+0000 fails the transaction and nothing else (the
 * connection serves the next batch), and messages that may be stored already go through the
 * staging table without storing anything twice — also on one connection again and again, and
 * after a transaction that created the staging table rolled back.
 */
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batch, dropSchema, hoursMessage, PG_TEST_URL, samplesMessage, T0, testSchema } from '../../../test/helpers/fleet-messages.ts';
import { postgres } from '../../../test/helpers/index.ts';
import type { SamplesMessage } from '../messages.ts';
import { PgStore } from './pg-store.ts';

let pgUp = false;
beforeAll(async () => {
  pgUp = (await postgres()).available;
});

const schemas: string[] = [];
const stores: PgStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const s of schemas.splice(0)) await dropSchema(s);
});

/** A store on a schema of its own; one connection, so every batch runs in the same session. */
async function open(): Promise<{ store: PgStore; schema: string }> {
  const schema = testSchema('copy');
  schemas.push(schema);
  const store = await PgStore.open({ url: PG_TEST_URL, schema, poolSize: 1 });
  stores.push(store);
  return { store, schema };
}

async function rows(schema: string): Promise<{ instance: string; id: number; site: string; machine: string; signal: string; ts: number; value: number | null; text: string | null }[]> {
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    const r = await c.query<{ instance: string; id: string; site: string; machine: string; signal: string; ts: string; value: number | null; text_value: string | null }>(
      `SELECT instance, id, site, machine, signal, (extract(epoch FROM ts) * 1000)::text AS ts, value, text_value FROM "${schema}".samples ORDER BY instance, id`,
    );
    return r.rows.map((x) => ({ instance: x.instance, id: Number(x.id), site: x.site, machine: x.machine, signal: x.signal, ts: Number(x.ts), value: x.value, text: x.text_value }));
  } finally {
    await c.end();
  }
}

function msg(instance: string, samples: SamplesMessage['samples'], prevLastId = 0): SamplesMessage {
  return { agent: 'edge-1', site: 'site-ä', instance, firstId: samples[0]?.id ?? 1, lastId: samples.at(-1)?.id ?? 1, prevLastId, samples };
}

describe('PostgreSQL store: samples by binary COPY', () => {
  it('stores awkward text and edge timestamps exactly, both straight and through the staging table', async ({ skip }) => {
    if (!pgUp) skip();
    const { store, schema } = await open();
    const texts = ['', '"quoted"', "it's", 'tab\there', 'back\\slash', '\\N', 'line\nbreak', 'cr\rlf\r\n', ',;|', 'ünïcödé ✓ 中文', '😀🏭', 'x'.repeat(65_536)];
    const tss = [0, 1, 946_684_799_999, 946_684_800_000, Date.UTC(2026, 10, 2, 8, 0, 0, 987), 8.64e15];
    const samples = texts.map((value, i) => ({ id: i + 1, machine: `m ${i} "ü"`, signal: value.slice(0, 128) || 'sig', ts: tss[i % tss.length] as number, value, quality: 'good' as const }));
    const expected = (instance: string): Awaited<ReturnType<typeof rows>> =>
      samples.map((x) => ({ instance, id: x.id, site: 'site-ä', machine: x.machine, signal: x.signal, ts: x.ts, value: null, text: x.value }));
    // fresh: straight into samples
    expect(await store.commit(batch({ samples: [msg('fresh', samples)] }))).toMatchObject({ stored: samples.length, duplicates: 0 });
    // a message below the highest stored id of its instance: staged; its new rows stored, the rest not again
    await store.commit(batch({ samples: [msg('staged', samples.slice(-1), samples.length - 1)] }));
    expect(await store.commit(batch({ samples: [msg('staged', samples)] }))).toMatchObject({ stored: samples.length - 1, duplicates: 1 });
    expect(await rows(schema)).toEqual([...expected('fresh'), ...expected('staged')]);
  });

  it('refuses U+0000 with SFA_ERR_PAYLOAD, stores nothing of that batch, and the connection takes the next one', async ({ skip }) => {
    if (!pgUp) skip();
    const { store, schema } = await open();
    const good = samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 });
    const nul = { ...good, samples: good.samples.map((x, i) => (i === 5 ? { ...x, value: 'a\u0000b' } : x)) };
    // the first message encodes and is sent before the second fails
    const later = samplesMessage({ instance: 'i2', prevLastId: 0, firstId: 1, lastId: 10 });
    await expect(store.commit(batch({ samples: [later, nul] }))).rejects.toMatchObject({ code: 'SFA_ERR_PAYLOAD' });
    expect(await store.sampleCount()).toBe(0);
    // the same through the staging table (created in the transaction that rolls back)
    await store.commit(batch({ samples: [later] }));
    await expect(store.commit(batch({ samples: [{ ...nul, instance: 'i2' }] }))).rejects.toMatchObject({ code: 'SFA_ERR_PAYLOAD' });
    expect(await store.sampleCount()).toBe(10);
    expect(await store.commit(batch({ samples: [good] }))).toMatchObject({ stored: 10, confirmed: [{ instance: 'i1', confirmedId: 10 }] });
    expect(await store.commit(batch({ samples: [later, good] }))).toMatchObject({ stored: 0, duplicates: 20 });
    expect((await rows(schema)).length).toBe(20);
  });

  it('stores a duplicated batch once through the staging table, again and again on one session', async ({ skip }) => {
    if (!pgUp) skip();
    const { store } = await open();
    const ms = Array.from({ length: 5 }, (_, i) => samplesMessage({ instance: 'i1', prevLastId: i * 100, firstId: i * 100 + 1, lastId: (i + 1) * 100 }));
    expect(await store.commit(batch({ samples: ms }))).toMatchObject({ stored: 500, duplicates: 0, confirmed: [{ confirmedId: 500 }] });
    for (let round = 0; round < 3; round++) {
      expect(await store.commit(batch({ samples: ms }))).toMatchObject({ stored: 0, duplicates: 500, confirmed: [{ confirmedId: 500 }] });
    }
    // a batch mixing a redelivery, new rows behind it, and the redelivery again
    const next = samplesMessage({ instance: 'i1', prevLastId: 500, firstId: 501, lastId: 600 });
    expect(await store.commit(batch({ samples: [ms[4] as SamplesMessage, next, ms[4] as SamplesMessage, next] }))).toMatchObject({ stored: 100, duplicates: 300, confirmed: [{ confirmedId: 600 }] });
    expect(await store.sampleCount('i1')).toBe(600);
  });

  it('creates the staging table again after the transaction that created it rolled back on the same connection', async ({ skip }) => {
    if (!pgUp) skip();
    const { store } = await open();
    const m = samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 });
    await store.commit(batch({ samples: [m] }));
    // an integer column refuses 1.5 after the samples were staged: an SQL error, the session stays in the pool
    const bad = hoursMessage({ instance: 'i1', machine: 'm1', hourStart: T0, revision: 1, c: { orders: 1.5 } });
    await expect(store.commit(batch({ samples: [m], hours: [bad] }))).rejects.toMatchObject({ code: 'SFA_ERR_PAYLOAD' });
    expect(await store.commit(batch({ samples: [m] }))).toMatchObject({ stored: 0, duplicates: 10 });
  });

  it('stores the same rows, chain and newest ts from messages encoded on arrival as from parsed ones, mixed in one batch', async ({ skip }) => {
    if (!pgUp) skip();
    const { store, schema } = await open();
    const parsed = (instance: string, i: number): SamplesMessage => samplesMessage({ instance, prevLastId: i * 100, firstId: i * 100 + 1, lastId: (i + 1) * 100 });
    const enc = (i: number) => store.encodeSamples(parsed('enc', i));
    expect(enc(0)).toMatchObject({ instance: 'enc', firstId: 1, lastId: 100, prevLastId: 0, rows: 100, maxTs: Math.max(...parsed('enc', 0).samples.map((x) => x.ts)) });
    expect(enc(0)).not.toHaveProperty('samples');
    expect(await store.commit(batch({ samples: [enc(0), parsed('plain', 0), enc(1), parsed('plain', 1)] }))).toMatchObject({ stored: 400, duplicates: 0 });
    // redelivered, encoded: through the staging table, nothing twice
    expect(await store.commit(batch({ samples: [enc(1), enc(2)] }))).toMatchObject({ stored: 100, duplicates: 100, confirmed: [{ instance: 'enc', confirmedId: 300 }] });
    await store.commit(batch({ samples: [parsed('plain', 2)] }));
    const all = await rows(schema);
    const strip = (inst: string) => all.filter((r) => r.instance === inst).map(({ instance: _, ...r }) => r);
    expect(strip('enc')).toHaveLength(300);
    expect(strip('enc')).toEqual(strip('plain'));
    const agents = await store.agents();
    expect(agents.find((a) => a.instance === 'enc')).toMatchObject({ confirmedId: 300, lastId: 300, lastSampleTs: agents.find((a) => a.instance === 'plain')?.lastSampleTs });
  });

  it('refuses U+0000 already when encoding on arrival', async ({ skip }) => {
    if (!pgUp) skip();
    const { store } = await open();
    const good = samplesMessage({ instance: 'i1', prevLastId: 0, firstId: 1, lastId: 10 });
    const nul = { ...good, samples: good.samples.map((x, i) => (i === 5 ? { ...x, value: 'a\u0000b' } : x)) };
    expect(() => store.encodeSamples(nul)).toThrow(expect.objectContaining({ code: 'SFA_ERR_PAYLOAD' }));
    expect(store.encodeSamples(good).rows).toBe(10);
  });

  it('keeps two instances apart in one COPY', async ({ skip }) => {
    if (!pgUp) skip();
    const { store } = await open();
    const a = samplesMessage({ instance: 'a', prevLastId: 0, firstId: 1, lastId: 50 });
    const b = samplesMessage({ instance: 'b', prevLastId: 0, firstId: 1, lastId: 50 });
    expect(await store.commit(batch({ samples: [a, b] }))).toMatchObject({ stored: 100, duplicates: 0 });
    expect([await store.sampleCount('a'), await store.sampleCount('b')]).toEqual([50, 50]);
  });
});

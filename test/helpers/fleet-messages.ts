/**
 * Agent-shaped upstream messages built by hand (notes/fleet-protocol.md), and a PostgreSQL
 * schema of its own per test for the fleet store.
 */
import pg from 'pg';
import { ZERO_COMPONENTS, type KpiComponents } from '../../agent/kpi/index.ts';
import type { HoursMessage, PlantMessage, SamplesMessage } from '../../agent/fleet/messages.ts';
import type { IngestBatch } from '../../agent/fleet/store/index.ts';

export const PG_TEST_URL = process.env.SFA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);

/** A batch of ids [firstId, lastId] (every id, or those `keep` lets through) chained after prevLastId. */
export function samplesMessage(o: { site?: string; agent?: string; instance: string; prevLastId: number; firstId: number; lastId: number; keep?: (id: number) => boolean }): SamplesMessage {
  const samples: SamplesMessage['samples'] = [];
  for (let id = o.firstId; id <= o.lastId; id++) {
    if (o.keep && !o.keep(id) && id !== o.firstId && id !== o.lastId) continue;
    samples.push({ id, machine: `m${id % 3}`, signal: id % 5 === 0 ? 'order_id' : 'power_kw', ts: T0 + id * 1000, value: id % 5 === 0 ? `order-${id}` : id / 10, quality: 'good' });
  }
  return { agent: o.agent ?? 'edge-1', site: o.site ?? 'site-a', instance: o.instance, firstId: o.firstId, lastId: o.lastId, prevLastId: o.prevLastId, samples };
}

export function components(over: Partial<KpiComponents>): KpiComponents {
  return { ...ZERO_COMPONENTS, windowS: 3600, plannedS: 3600, ...over };
}

export function hoursMessage(o: { site?: string; agent?: string; instance: string; machine: string; hourStart: number; revision: number; c: Partial<KpiComponents> }): HoursMessage {
  return { agent: o.agent ?? 'edge-1', site: o.site ?? 'site-a', instance: o.instance, machine: o.machine, hourStart: o.hourStart, revision: o.revision, components: components(o.c) };
}

export function plantMessage(o: { site?: string; agent?: string; instance: string; machines: PlantMessage['machines'] }): PlantMessage {
  return { agent: o.agent ?? 'edge-1', site: o.site ?? 'site-a', instance: o.instance, siteName: `Site ${o.site ?? 'site-a'}`, timezone: 'Europe/Berlin', machines: o.machines };
}

export function batch(over: Partial<IngestBatch>): IngestBatch {
  return { samples: [], hours: [], plants: [], statuses: [], deadLetters: [], at: Date.now(), ...over };
}

/** A fresh schema name; `dropSchema` removes it after the test. */
export function testSchema(name: string): string {
  return `t_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

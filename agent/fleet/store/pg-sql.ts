/** The PostgreSQL store's two bulk statements, built once per schema, and their array parameters. */
import type { SamplesMessage } from '../messages.ts';
import { HOUR_COLUMNS, valueColumns } from './fleet-store.ts';

/**
 * One message's samples: $1 instance, $2 site, $3 agent (the same for every row: passed once,
 * which parses ~1.7× faster than arrays repeating them), then arrays $4 id, $5 machine,
 * $6 signal, $7 ts epoch ms, $8 value, $9 text_value, $10 quality.
 */
export function pgSampleInsert(s: string, onConflict: boolean): string {
  return `INSERT INTO ${s}.samples (instance, id, site, agent, machine, signal, ts, value, text_value, quality)
    SELECT $1, id, $2, $3, machine, signal, to_timestamp(t / 1000.0), v, tv, q
    FROM unnest($4::bigint[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::text[], $10::text[])
      AS u(id, machine, signal, t, v, tv, q)${onConflict ? '\n    ON CONFLICT (instance, id) DO NOTHING' : ''}`;
}

/** One hour's components; a lower or equal revision than the stored one changes nothing. */
export function pgHourUpsert(s: string): string {
  const cols = HOUR_COLUMNS.map(([c]) => c);
  const n = cols.length;
  const values = cols.map((_, i) => `$${7 + i}`).join(', ');
  const updates = [...cols, 'components', 'received_at', 'revision'].map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  return `INSERT INTO ${s}.kpi_hours (instance, site, agent, machine, hour_start, revision, ${cols.join(', ')}, components, received_at)
    VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), $6, ${values}, $${7 + n}::jsonb, to_timestamp($${8 + n} / 1000.0))
    ON CONFLICT (instance, machine, hour_start) DO UPDATE SET ${updates}
    WHERE ${s}.kpi_hours.revision < EXCLUDED.revision`;
}

const NEEDS_ESCAPE = /["\\]/;

/** An element of a text[] literal: always quoted (empty strings, commas, braces, "NULL" stay text). */
function quoted(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
}

/**
 * The array parameters $4…$10 of `pgSampleInsert` as PostgreSQL array literals, built in one
 * pass: `pg` would quote and escape every element (numbers too) through its generic value
 * conversion, which was a third of the fleet's CPU per sample. Numbers are written by `String`,
 * which float8in and int8in read back exactly; only finite values arrive (`valueColumns`).
 */
export function pgSampleArrays(samples: SamplesMessage['samples']): string[] {
  const n = samples.length;
  const id = new Array<string>(n);
  const machine = new Array<string>(n);
  const signal = new Array<string>(n);
  const ts = new Array<string>(n);
  const value = new Array<string>(n);
  const text = new Array<string>(n);
  const quality = new Array<string>(n);
  // machines and signals repeat from sample to sample: quoted once per change
  let lastMachine: string | undefined;
  let machineQ = '';
  let lastSignal: string | undefined;
  let signalQ = '';
  for (let i = 0; i < n; i++) {
    const x = samples[i] as SamplesMessage['samples'][number];
    const [v, t] = valueColumns(x.value);
    if (x.machine !== lastMachine) machineQ = quoted((lastMachine = x.machine));
    if (x.signal !== lastSignal) signalQ = quoted((lastSignal = x.signal));
    id[i] = String(x.id);
    machine[i] = machineQ;
    signal[i] = signalQ;
    ts[i] = String(x.ts);
    value[i] = v === null ? 'NULL' : String(v);
    text[i] = t === null ? 'NULL' : quoted(t);
    quality[i] = x.quality;
  }
  return [id, machine, signal, ts, value, text, quality].map((a) => `{${a.join(',')}}`);
}

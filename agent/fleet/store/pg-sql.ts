/** The PostgreSQL store's two bulk statements, built once per schema, and their array parameters. */
import type { SamplesMessage } from '../messages.ts';
import { HOUR_COLUMNS, valueColumns } from './fleet-store.ts';

/**
 * The samples of several messages in one statement (one round trip per batch, not per
 * message): per message $1 instance, $2 site, $3 agent (passed once per message and picked by
 * the row's message number: ~1.7× faster to parse than arrays repeating them), then per row
 * $4 message number (1-based), $5 id, $6 machine, $7 signal, $8 ts epoch ms, $9 value,
 * $10 text_value, $11 quality.
 */
export function pgSampleInsert(s: string, onConflict: boolean): string {
  return `INSERT INTO ${s}.samples (instance, id, site, agent, machine, signal, ts, value, text_value, quality)
    SELECT ($1::text[])[k], id, ($2::text[])[k], ($3::text[])[k], machine, signal, to_timestamp(t / 1000.0), v, tv, q
    FROM unnest($4::int[], $5::bigint[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::text[], $11::text[])
      AS u(k, id, machine, signal, t, v, tv, q)${onConflict ? '\n    ON CONFLICT (instance, id) DO NOTHING' : ''}`;
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
 * The parameters of `pgSampleInsert` for the messages, the per-row arrays as PostgreSQL array
 * literals built in one pass: `pg` would quote and escape every element (numbers too) through
 * its generic value conversion, which was a third of the fleet's CPU per sample. Numbers are
 * written by `String`, which float8in and int8in read back exactly; only finite values arrive
 * (`valueColumns`).
 */
export function pgSampleParams(messages: readonly SamplesMessage[]): unknown[] {
  const cols: string[][] = [[], [], [], [], [], [], [], []];
  const [k, id, machine, signal, ts, value, text, quality] = cols as [string[], string[], string[], string[], string[], string[], string[], string[]];
  messages.forEach((m, i) => {
    const no = String(i + 1);
    // machines and signals repeat from sample to sample: quoted once per change
    let lastMachine: string | undefined;
    let machineQ = '';
    let lastSignal: string | undefined;
    let signalQ = '';
    for (const x of m.samples) {
      const [v, t] = valueColumns(x.value);
      if (x.machine !== lastMachine) machineQ = quoted((lastMachine = x.machine));
      if (x.signal !== lastSignal) signalQ = quoted((lastSignal = x.signal));
      k.push(no);
      id.push(String(x.id));
      machine.push(machineQ);
      signal.push(signalQ);
      ts.push(String(x.ts));
      value.push(v === null ? 'NULL' : String(v));
      text.push(t === null ? 'NULL' : quoted(t));
      quality.push(x.quality);
    }
  });
  return [messages.map((m) => m.instance), messages.map((m) => m.site), messages.map((m) => m.agent), ...cols.map((a) => `{${a.join(',')}}`)];
}

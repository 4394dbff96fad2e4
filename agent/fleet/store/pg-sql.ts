/** The PostgreSQL store's hour upsert, built once per schema. */
import { HOUR_COLUMNS } from './fleet-store.ts';

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

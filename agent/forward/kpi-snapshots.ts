/**
 * The retained KPI snapshot per machine (`{prefix}/{site}/{agent}/kpi/{machine}`): the rows of
 * the current shift and of the current day so far, with their additive components, so the
 * fleet can roll them up by summing components (DESIGN.md §4, §6).
 */
import { DateTime } from 'luxon';
import type { KpiRow, KpiService } from '../kpi-query/index.ts';
import type { KpiSnapshot } from './forwarder.ts';

/** What a snapshot needs of the plant. */
export interface SnapshotPlant {
  site: { id: string; timezone: string };
  agentId: string;
  shifts: readonly unknown[];
}

export interface KpiSnapshotPayload {
  agent: string;
  site: string;
  machine: string;
  /** when the snapshot was taken (ISO 8601) */
  at: string;
  /** the shift running now, from its start until now; null outside shifts or without shifts */
  shift: KpiRow | null;
  /** the site's calendar day so far */
  day: KpiRow | null;
}

export function kpiSnapshots(plant: SnapshotPlant, kpis: KpiService, now = Date.now()): KpiSnapshot[] {
  const dayStart = DateTime.fromMillis(now, { zone: plant.site.timezone }).startOf('day').toMillis();
  const out: KpiSnapshot[] = [];
  for (const machine of kpis.machineIds()) {
    const day = now > dayStart ? (kpis.kpis({ from: dayStart, to: now, machine, groupBy: 'none' })[0] ?? null) : null;
    let shift: KpiRow | null = null;
    if (plant.shifts.length > 0) {
      const rows = kpis.kpis({ from: now - 86_400_000, to: now, machine, groupBy: 'shift' });
      // the shift holding "now" is the one clipped at now
      shift = rows.filter((r) => Date.parse(r.periodEnd) === now).at(-1) ?? null;
    }
    const payload: KpiSnapshotPayload = { agent: plant.agentId, site: plant.site.id, machine, at: new Date(now).toISOString(), shift, day };
    out.push({ machine, payload });
  }
  return out;
}

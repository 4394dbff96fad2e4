/**
 * The retained KPI snapshot per machine (`{prefix}/{site}/{agent}/kpi/{machine}`): the rows of
 * the current shift and of the current day so far, with their additive components, so the
 * fleet can roll them up by summing components (DESIGN.md §4, §6).
 */
import { DateTime } from 'luxon';
import type { KpiSnapshot } from './forwarder.ts';

/** What a snapshot needs of the plant. */
export interface SnapshotPlant {
  site: { id: string; timezone: string };
  agentId: string;
  shifts: readonly unknown[];
}

/** A machine's KPI row, sent whole (its components included); the snapshot reads only its end. */
export interface SnapshotRow {
  periodEnd: string;
}

/** What a snapshot needs of the KPI service: the machines and their rows of a window. */
export interface SnapshotKpis<Row extends SnapshotRow> {
  machineIds(): string[];
  kpis(q: { from: number; to: number; machine: string; groupBy: 'none' | 'shift' }): Row[];
}

export interface KpiSnapshotPayload<Row extends SnapshotRow = SnapshotRow> {
  agent: string;
  site: string;
  machine: string;
  /** when the snapshot was taken (ISO 8601) */
  at: string;
  /** the shift running now, from its start until now; null outside shifts or without shifts */
  shift: Row | null;
  /** the site's calendar day so far */
  day: Row | null;
}

export function kpiSnapshots<Row extends SnapshotRow>(plant: SnapshotPlant, kpis: SnapshotKpis<Row>, now = Date.now()): KpiSnapshot[] {
  const dayStart = DateTime.fromMillis(now, { zone: plant.site.timezone }).startOf('day').toMillis();
  const out: KpiSnapshot[] = [];
  for (const machine of kpis.machineIds()) {
    const day = now > dayStart ? (kpis.kpis({ from: dayStart, to: now, machine, groupBy: 'none' })[0] ?? null) : null;
    let shift: Row | null = null;
    if (plant.shifts.length > 0) {
      const rows = kpis.kpis({ from: now - 86_400_000, to: now, machine, groupBy: 'shift' });
      // the shift holding "now" is the one clipped at now
      const end = new Date(now).toISOString();
      shift = rows.filter((r) => r.periodEnd === end).at(-1) ?? null;
    }
    const payload: KpiSnapshotPayload<Row> = { agent: plant.agentId, site: plant.site.id, machine, at: new Date(now).toISOString(), shift, day };
    out.push({ machine, payload });
  }
  return out;
}

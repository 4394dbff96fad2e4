/** The fleet's JSON API as its dashboard uses it; the shapes come from the fleet's own code. */
import type { FleetKpiRow, SiteBenchmarkRow } from '../../agent/fleet/fleet-kpis.ts';
import type { MachineRecord, SiteRecord } from '../../agent/fleet/store/index.ts';

export type { FleetKpiRow, SiteBenchmarkRow };

/** GET /api/agents: one row per agent (its newest instance) */
export interface AgentView {
  site: string;
  agent: string;
  instance: string;
  instances: number;
  online: boolean;
  status: string | null;
  statusAt: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
  confirmedId: number;
  lastId: number;
  backlog: number;
  lastSampleAt: string | null;
  lagS: number | null;
}

/** GET /api/sites */
export interface SiteView extends SiteRecord {
  machines: Omit<MachineRecord, 'site'>[];
}

export interface KpiAnswer {
  from: string;
  to: string;
  rows: FleetKpiRow[];
}

export interface BenchmarkAnswer {
  from: string;
  to: string;
  rows: SiteBenchmarkRow[];
}

/** `from`/`to` query parameters for the last `hours` hours */
export function rangeQuery(hours: number, now = Date.now()): string {
  return `from=${encodeURIComponent(new Date(now - hours * 3_600_000).toISOString())}&to=${encodeURIComponent(new Date(now).toISOString())}`;
}

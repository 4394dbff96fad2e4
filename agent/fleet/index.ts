/** The fleet aggregator (DESIGN.md §6 "Fleet"): `shopfloor-agent fleet -c fleet.yaml`. */
export { Fleet } from './fleet.ts';
export type { FleetLog } from './fleet.ts';
export { fleetKpiRows, fleetBenchmarkRows } from './fleet-kpis.ts';
export type { FleetKpiQuery, FleetKpiRow, FleetScope, FleetGroupBy } from './fleet-kpis.ts';
export { agentViews, hourRange, FLEET_HTTP_DEFAULTS } from './fleet-http.ts';
export { INGEST_DEFAULTS } from './ingest-batcher.ts';
export * from './store/index.ts';

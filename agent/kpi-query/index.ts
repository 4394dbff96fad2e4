/** The KPI queries of the HTTP API and the CLI over the buffer (DESIGN.md §2 step 5, §6). */
export { KpiService } from './kpi-service.ts';
export { KpiQueryError } from './kpi-query-error.ts';
export { KPI_SERVICE_DEFAULTS } from './options.ts';
export type { KpiServiceOptions } from './options.ts';
export type { KpiBuffer, KpiPlant } from './ports.ts';
export type { BenchmarkReport, GroupBy, KpiQuery, KpiRow, KpiRowBody, KpiScope, MachineView, RollupRow } from './query-types.ts';

/** The KPI engine: pure functions over samples (DESIGN.md §4). No driver, database or HTTP code. */
export { computeMachineKpis, computeMachineKpisByWindow, KPI_DEFAULTS } from './machine-kpis.ts';
export type { MachineKpiInput, MachineKpiOptions, MachineKpis, MachineKpiWindowsInput, StateSeconds } from './machine-kpis.ts';
export { mergeComponents, ratiosFromComponents, sumComponents, ZERO_COMPONENTS } from './components.ts';
export type { KpiComponents, KpiRatios } from './components.ts';
export { samplesForWindow } from './window-samples.ts';
export { counterDelta } from './counter-deltas.ts';
export { completeUnits } from './units.ts';
export type { UnitCounts } from './units.ts';
export { MS_PER_HOUR } from './energy.ts';
export type { EnergySource, EnergySourceOption } from './energy.ts';
export { compareSamples } from './sample-order.ts';
export type { KpiSample } from './sample-order.ts';
export type { Interval } from './windows.ts';

export { Plant } from './plant.ts';
export type { MachineInfo, PlantSource, SiteInfo } from './plant.ts';
export type { SeriesSettings } from './series-settings.ts';
export { diffPlants, isEmptyDiff } from './plant-diff.ts';
export type { PlantDiff } from './plant-diff.ts';
export { SourceBoundary, INPUT_BOUNDARY_DEFAULTS, span } from './input-boundary.ts';
export type { BadTimestamp, BoundaryPolicy, Reject } from './input-boundary.ts';

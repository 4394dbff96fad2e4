export { Plant } from './plant.ts';
export type { MachineInfo, PlantSource, SiteInfo } from './plant.ts';
export type { SeriesSettings } from './series-settings.ts';
export { diffPlants, isEmptyDiff } from './plant-diff.ts';
export type { PlantDiff } from './plant-diff.ts';

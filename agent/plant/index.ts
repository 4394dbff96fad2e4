export { Plant } from './plant.ts';
export type { MachineInfo, PlantSource, SiteInfo } from './plant.ts';
export type { SeriesSettings } from './series-settings.ts';

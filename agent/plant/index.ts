export { Plant } from './plant.ts';
export type { MachineInfo, PlantSource, SeriesPort, SiteInfo } from './plant.ts';
export { NO_SERIES_SETTINGS, SeriesSettingsResolver, templatePattern } from './series-settings.ts';
export type { SeriesSettings } from './series-settings.ts';

/** The operator dashboard as built into the single executable (index.html, plain page, app.js, app.css). */
import { SEA_ASSETS, seaText } from './sea-assets.ts';

export interface EmbeddedDashboard {
  index: string;
  plain: string;
  js: string;
  css: string;
}

/** undefined outside the single executable: the dashboard is then bundled from dashboards/app */
export function embeddedDashboard(): EmbeddedDashboard | undefined {
  const index = seaText(SEA_ASSETS.dashboardIndex);
  if (index === undefined) return undefined;
  return {
    index,
    plain: seaText(SEA_ASSETS.dashboardPlain) ?? '',
    js: seaText(SEA_ASSETS.dashboardJs) ?? '',
    css: seaText(SEA_ASSETS.dashboardCss) ?? '',
  };
}

export interface EmbeddedFleetDashboard {
  index: string;
  js: string;
  css: string;
}

/** The fleet dashboard as built into the single executable; undefined outside it (bundled from dashboards/fleet). */
export function embeddedFleetDashboard(): EmbeddedFleetDashboard | undefined {
  const index = seaText(SEA_ASSETS.fleetDashboardIndex);
  if (index === undefined) return undefined;
  return { index, js: seaText(SEA_ASSETS.fleetDashboardJs) ?? '', css: seaText(SEA_ASSETS.fleetDashboardCss) ?? '' };
}

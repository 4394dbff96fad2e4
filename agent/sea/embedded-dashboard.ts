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

/**
 * The fleet dashboard's files (dashboards/fleet, which imports the operator dashboard's
 * dashboards/app modules): index.html and one script and one style sheet bundled by esbuild on
 * the first request and kept in memory, or, in the single executable, the ones built into it.
 * Nothing is fetched from the internet.
 */
import type { FastifyInstance } from 'fastify';
import { fileURLToPath } from 'node:url';
import { serveDashboard } from '../http/index.ts';
import { embeddedFleetDashboard } from '../sea/index.ts';

export interface FleetDashboardOptions {
  /** the folder holding index.html and main.ts */
  appDir: string;
  minify: boolean;
}

export const FLEET_DASHBOARD_DEFAULTS: FleetDashboardOptions = {
  appDir: fileURLToPath(new URL('../../dashboards/fleet/', import.meta.url)),
  minify: true,
};

export function registerFleetDashboard(app: FastifyInstance, options: Partial<FleetDashboardOptions> = {}): void {
  const opts = { ...FLEET_DASHBOARD_DEFAULTS, ...options };
  serveDashboard(app, { appDir: opts.appDir, minify: opts.minify, name: 'fleet', embedded: embeddedFleetDashboard() });
}

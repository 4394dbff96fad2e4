/**
 * The fleet dashboard's files (dashboards/fleet, which imports the operator dashboard's
 * dashboards/app modules): index.html and one script and one style sheet bundled by esbuild on
 * the first request and kept in memory, or, in the single executable, the ones built into it.
 * Nothing is fetched from the internet.
 */
import type { FastifyInstance } from 'fastify';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleDashboard, type DashboardBundle } from '../http/index.ts';
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
  let bundle: Promise<DashboardBundle> | undefined;
  let index: Promise<string> | undefined;
  const embedded = embeddedFleetDashboard();
  if (embedded) {
    index = Promise.resolve(embedded.index);
    bundle = Promise.resolve({ js: embedded.js, css: embedded.css });
  }
  const getBundle = (): Promise<DashboardBundle> => {
    bundle ??= bundleDashboard(opts.appDir, opts.minify).catch((err: unknown) => {
      bundle = undefined; // try again on the next request
      throw err;
    });
    return bundle;
  };

  app.get('/', async (_req, reply) => {
    index ??= readFile(`${opts.appDir}/index.html`, 'utf8').catch((err: unknown) => {
      index = undefined;
      throw err;
    });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(await index);
  });
  app.get('/assets/fleet.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send((await getBundle()).js),
  );
  app.get('/assets/fleet.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send((await getBundle()).css),
  );
}

/**
 * The operator dashboard's files: dashboards/app/index.html and one script and one style
 * sheet bundled by esbuild from dashboards/app (uPlot included), on the first request and
 * kept in memory. Nothing is fetched from the internet.
 */
import type { FastifyInstance } from 'fastify';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { embeddedDashboard } from '../sea/index.ts';

export interface DashboardAssetsOptions {
  /** the folder holding index.html and main.ts */
  appDir: string;
  plainPage: string;
  minify: boolean;
}

export const DASHBOARD_ASSETS_DEFAULTS: DashboardAssetsOptions = {
  appDir: fileURLToPath(new URL('../../dashboards/app/', import.meta.url)),
  plainPage: fileURLToPath(new URL('../../dashboards/plain/index.html', import.meta.url)),
  minify: true,
};

export interface DashboardBundle {
  js: string;
  css: string;
}

export async function bundleDashboard(appDir: string, minify: boolean): Promise<DashboardBundle> {
  const { build } = await import('esbuild');
  const res = await build({
    entryPoints: { app: `${appDir}/main.ts` },
    bundle: true,
    write: false,
    outdir: '/assets',
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify,
    legalComments: 'none',
    logLevel: 'silent',
    loader: { '.css': 'css' },
  });
  const file = (ext: string): string => res.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: file('.js'), css: file('.css') };
}

/** A page and its bundle as served: read (and bundled) on first use, or the ones built into the single executable. */
export interface DashboardFiles {
  /** the folder holding index.html and main.ts */
  appDir: string;
  minify: boolean;
  /** the bundle's file names: `/assets/{name}.js` and `/assets/{name}.css` */
  name: string;
  embedded: { index: string; js: string; css: string } | undefined;
}

/** Serves `/` (index.html) and the bundle; a failed read or build is tried again on the next request. */
export function serveDashboard(app: FastifyInstance, f: DashboardFiles): void {
  let bundle: Promise<DashboardBundle> | undefined;
  let index: Promise<string> | undefined;
  if (f.embedded) {
    index = Promise.resolve(f.embedded.index);
    bundle = Promise.resolve({ js: f.embedded.js, css: f.embedded.css });
  }
  const getBundle = (): Promise<DashboardBundle> => {
    bundle ??= bundleDashboard(f.appDir, f.minify).catch((err: unknown) => {
      bundle = undefined;
      throw err;
    });
    return bundle;
  };
  app.get('/', async (_req, reply) => {
    index ??= readFile(`${f.appDir}/index.html`, 'utf8').catch((err: unknown) => {
      index = undefined;
      throw err;
    });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(await index);
  });
  app.get(`/assets/${f.name}.js`, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send((await getBundle()).js),
  );
  app.get(`/assets/${f.name}.css`, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send((await getBundle()).css),
  );
}

export function registerDashboardAssets(app: FastifyInstance, options: Partial<DashboardAssetsOptions> = {}): void {
  const opts = { ...DASHBOARD_ASSETS_DEFAULTS, ...options };
  // the single executable carries the pages and the bundle built at build time (no esbuild inside)
  const embedded = embeddedDashboard();
  serveDashboard(app, { appDir: opts.appDir, minify: opts.minify, name: 'app', embedded });
  let plain: Promise<string> | undefined = embedded ? Promise.resolve(embedded.plain) : undefined;
  app.get('/plain', async (_req, reply) => {
    plain ??= readFile(opts.plainPage, 'utf8').catch((err: unknown) => {
      plain = undefined;
      throw err;
    });
    return reply.type('text/html; charset=utf-8').send(await plain);
  });
}

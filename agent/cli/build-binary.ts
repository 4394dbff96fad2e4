/**
 * `npm run build:binary [-- --arch x64,arm64]`: dist/shopfloor-agent-linux-<arch>, one file per
 * platform with Node's single-executable-application support (README "Single binary").
 *
 * 1. agent/sea/sea-main.ts bundled by esbuild to one CommonJS file, every dependency inside
 *    (node-opcua, pino, fastify …; a Node 20 SEA main script can require built-ins only);
 *    each worker_threads entry of WORKER_ENTRIES likewise, embedded as `workers/<name>.cjs`.
 * 2. the assets (agent/sea/sea-assets.ts SEA_ASSETS): the better-sqlite3 addon for the target,
 *    the dashboard page and its script and style bundled now (no esbuild at run time), the fleet
 *    dashboard likewise, the OPC UA standard nodeset for the demo plant, the version.
 * 3. the blob (`node --experimental-sea-config`), injected with postject into the stripped
 *    base binary of the same Node version (agent/cli/binary-parts.ts).
 * `pkg` / `@yao-pkg/pkg` are no alternative: they download their base binaries from GitHub.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleDashboard, DASHBOARD_ASSETS_DEFAULTS } from '../http/dashboard-assets.ts';
import { FLEET_DASHBOARD_DEFAULTS } from '../fleet/fleet-dashboard.ts';
import { SEA_ASSETS } from '../sea/sea-assets.ts';
import { BINARY_ARCHES, sqliteAddon, strippedNode, type BinaryArch, type PartsOptions } from './binary-parts.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * worker_threads entries the binary carries: name → source file. A worker started through
 * agent/sea/worker-script.ts `workerScript(name, url)` runs from the asset in the binary.
 */
export const WORKER_ENTRIES: Record<string, string> = {};

/** The sentinel Node 20 looks for to know a blob was injected (node/src/node_sea.cc). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface PostjectApi {
  inject(file: string, name: string, data: Buffer, options: { sentinelFuse: string; overwrite?: boolean }): Promise<void>;
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const IMPORT_META_URL = "var __sfaImportMetaUrl = require('node:url').pathToFileURL(require('node:path').join(process.execPath, '../.sea/agent/sea/x.js')).href;";

/**
 * Optional packages (ws's bufferutil, protobufjs's `long` …) are looked up with require() in a
 * try/catch and skipped when missing. The SEA's own require() warns on stderr for anything but
 * a built-in before failing; this one fails the way a missing package does, quietly.
 */
const BUILTINS_ONLY_REQUIRE = `var require = (function (r) {
  var isBuiltin = r('node:module').isBuiltin;
  return Object.assign(function (id) {
    if (isBuiltin(id)) return r(id);
    var e = new Error("Cannot find module '" + id + "' (not in the single executable)");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }, r);
})(require);`;

/** one CommonJS file with everything but Node's built-ins */
async function bundleCjs(entry: string, outfile: string): Promise<void> {
  const res = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // esbuild: bundled only by the dashboard code path the binary replaces with its assets;
    // proper-lockfile: optional for node-opcua, which carries on without it
    external: ['esbuild', 'tsx', 'proper-lockfile'],
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'error',
    // No import.meta in CommonJS. The few `new URL('../../…', import.meta.url)` of the sources
    // compute paths the binary never reads (agent/sea/ serves those files); a URL two levels
    // below the executable's folder keeps them well-formed.
    define: { 'import.meta.url': '__sfaImportMetaUrl' },
    banner: { js: `${IMPORT_META_URL}\n${BUILTINS_ONLY_REQUIRE}` },
    metafile: true,
  });
  const bytes = Object.values(res.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  log(`  ${entry} → ${outfile.slice(root.length)} (${(bytes / 1e6).toFixed(1)} MB)`);
}

/** the arch-independent files: bundles, dashboard, nodeset, version; name → path */
async function commonAssets(work: string): Promise<{ main: string; assets: Record<string, string> }> {
  const main = join(work, 'main.cjs');
  await bundleCjs('agent/sea/sea-main.ts', main);
  const assets: Record<string, string> = {};
  for (const [name, entry] of Object.entries(WORKER_ENTRIES)) {
    const out = join(work, 'workers', `${name}.cjs`);
    await bundleCjs(entry, out);
    assets[`workers/${name}.cjs`] = out;
  }
  const dash = await bundleDashboard(DASHBOARD_ASSETS_DEFAULTS.appDir, true);
  const put = (key: string, file: string, text: string | Buffer): void => {
    writeFileSync(join(work, file), text);
    assets[key] = join(work, file);
  };
  put(SEA_ASSETS.dashboardJs, 'app.js', dash.js);
  put(SEA_ASSETS.dashboardCss, 'app.css', dash.css);
  put(SEA_ASSETS.dashboardIndex, 'index.html', readFileSync(join(DASHBOARD_ASSETS_DEFAULTS.appDir, 'index.html')));
  put(SEA_ASSETS.dashboardPlain, 'plain.html', readFileSync(DASHBOARD_ASSETS_DEFAULTS.plainPage));
  // the fleet dashboard (`shopfloor-agent fleet` serves it at /)
  const fleet = await bundleDashboard(FLEET_DASHBOARD_DEFAULTS.appDir, true);
  put(SEA_ASSETS.fleetDashboardJs, 'fleet.js', fleet.js);
  put(SEA_ASSETS.fleetDashboardCss, 'fleet.css', fleet.css);
  put(SEA_ASSETS.fleetDashboardIndex, 'fleet.html', readFileSync(join(FLEET_DASHBOARD_DEFAULTS.appDir, 'index.html')));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  put(SEA_ASSETS.packageJson, 'package.json', JSON.stringify({ name: pkg.name, version: pkg.version }));
  const nodesets = join(root, 'node_modules/node-opcua-nodesets/nodesets');
  assets[SEA_ASSETS.nodesetXml] = join(nodesets, 'Opc.Ua.NodeSet2.xml');
  assets[SEA_ASSETS.nodesetImage] = join(nodesets, 'Opc.Ua.NodeSet2.ndjson.gz');
  return { main, assets };
}

async function buildOne(arch: BinaryArch, common: { main: string; assets: Record<string, string> }, work: string, parts: PartsOptions): Promise<string> {
  const t0 = performance.now();
  const base = strippedNode(arch, parts);
  const addon = sqliteAddon(arch, parts);
  const blob = join(work, `sea-${arch}.blob`);
  const config = join(work, `sea-${arch}.json`);
  writeFileSync(config, JSON.stringify({
    main: common.main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // V8's code cache is for the CPU it was made on: only when building for this machine's arch
    useCodeCache: arch === process.arch && process.env.SFA_SEA_CODE_CACHE !== '0',
    assets: { ...common.assets, [SEA_ASSETS.sqliteAddon]: addon },
  }, null, 2));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = join(root, 'dist', `shopfloor-agent-linux-${arch}`);
  const tmp = `${out}.tmp`;
  copyFileSync(base, tmp);
  const { inject } = createRequire(import.meta.url)('postject') as PostjectApi;
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
  log(`dist/shopfloor-agent-linux-${arch}: ${(statSync(out).size / 1e6).toFixed(1)} MB in ${Math.round((performance.now() - t0) / 1000)} s`);
  return out;
}

function parseArches(argv: string[]): BinaryArch[] {
  const i = argv.indexOf('--arch');
  const list = i >= 0 ? (argv[i + 1] ?? '').split(',') : [...BINARY_ARCHES];
  const bad = list.filter((a) => !(BINARY_ARCHES as readonly string[]).includes(a));
  if (bad.length > 0 || list.length === 0) throw new Error(`--arch takes ${BINARY_ARCHES.join(',')} (got ${bad.join(',') || 'nothing'})`);
  return list as BinaryArch[];
}

export async function buildBinaries(arches: BinaryArch[]): Promise<string[]> {
  if (process.platform !== 'linux') throw new Error('the binaries are built on Linux');
  const cacheDir = join(root, '.cache');
  const work = join(cacheDir, 'sea-build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'workers'), { recursive: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  log(`single executables for ${arches.map((a) => `linux-${a}`).join(', ')} on Node ${process.versions.node}`);
  const common = await commonAssets(work);
  const parts: PartsOptions = { root, cacheDir, log };
  const out: string[] = [];
  for (const arch of arches) out.push(await buildOne(arch, common, work, parts));
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildBinaries(parseArches(process.argv.slice(2)));
}

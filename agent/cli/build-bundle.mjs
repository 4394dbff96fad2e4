#!/usr/bin/env node
// `npm run build` (also run by `npm ci` through `prepare`): bundles the agent with esbuild into
// dist/agent/, the form `shopfloor-agent` runs as shipped. Plain Node loads it: no TypeScript
// loader thread in the process, a few large files instead of ~1,000 modules (less memory and a
// faster start). Code split at the lazy imports, so `check` never loads node-opcua and `run`
// loads a driver only when a source uses it.
// dist/agent/ sits two levels below the repository, like agent/cli/ and agent/http/, so the
// `new URL('../../…', import.meta.url)` paths (package.json, dashboards/) resolve the same.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

// Kept as packages: native addons, packages that load files or workers relative to themselves,
// the demo plant's server side (only the demo loads it), and esbuild itself (it bundles the
// dashboard at run time).
const external = [
  'better-sqlite3',
  'esbuild',
  'pino',
  'pino-pretty',
  'node-opcua',
  'aedes',
  'modbus-serial',
  'tsx',
  // an optional dependency of node-opcua's global mutex, loaded only when installed
  'proper-lockfile',
];

/** outdir: relative to the repository, two levels deep (dist/<name>) */
export async function buildBundle({ quiet = false, outdir: out = 'dist/agent' } = {}) {
  if (out.split('/').filter(Boolean).length !== 2) throw new Error(`outdir must be two levels below the repository: ${out}`);
  const outdir = `${root}${out}`;
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const t0 = performance.now();
  const result = await build({
    absWorkingDir: root,
    // the query worker's thread loads its own entry (agent/query-worker/query-worker.ts finds it beside the chunks)
    entryPoints: { main: 'agent/cli/main.ts', 'query-worker': 'agent/query-worker/query-worker-main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    sourcemap: 'linked',
    metafile: true,
    logLevel: quiet ? 'error' : 'warning',
    // CommonJS dependencies inside an ES module bundle still call require(), and one reads
    // __dirname (node-opcua-crypto, for a relative key path): both exist in every chunk
    banner: {
      js: "import { createRequire as __sfaRequire } from 'node:module'; import { dirname as __sfaDirnameOf } from 'node:path'; import { fileURLToPath as __sfaPathOf } from 'node:url'; const require = __sfaRequire(import.meta.url); const __sfaDirname = __sfaDirnameOf(__sfaPathOf(import.meta.url));",
    },
    define: { __dirname: '__sfaDirname' },
  });
  writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));
  if (!quiet) {
    const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
    console.log(`${out}: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1e6).toFixed(1)} MB in ${Math.round(performance.now() - t0)} ms`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildBundle();

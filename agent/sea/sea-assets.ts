/**
 * Files embedded in the single executable (Node's single-executable-application support, built
 * by agent/cli/build-binary.mjs): in a normal `node` process none of this is used and every
 * caller reads its file from the checkout as before.
 *
 * A file that something else must open by path (the SQLite addon for `process.dlopen`, the OPC UA
 * nodesets node-opcua reads) is written once under a folder of the caller's choosing, named by
 * the SHA-256 of its content: a new binary with a different addon writes a new file beside the
 * old one instead of overwriting a library another process may have mapped. Never /tmp: it is
 * often mounted noexec, and dlopen then fails.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as sea from 'node:sea';

/** Asset keys, one place for the build script (agent/cli/build-binary.mjs) and the readers. */
export const SEA_ASSETS = {
  sqliteAddon: 'better_sqlite3.node',
  packageJson: 'package.json',
  dashboardIndex: 'dashboard/index.html',
  dashboardPlain: 'dashboard/plain.html',
  dashboardJs: 'dashboard/app.js',
  dashboardCss: 'dashboard/app.css',
  fleetDashboardIndex: 'fleet-dashboard/index.html',
  fleetDashboardJs: 'fleet-dashboard/fleet.js',
  fleetDashboardCss: 'fleet-dashboard/fleet.css',
  nodesetXml: 'nodesets/Opc.Ua.NodeSet2.xml',
  nodesetImage: 'nodesets/Opc.Ua.NodeSet2.ndjson.gz',
} as const;

/** true inside the single executable */
export function isSea(): boolean {
  return sea.isSea();
}

/** The asset's bytes, or undefined outside the single executable. */
export function seaAsset(key: string): Buffer | undefined {
  if (!sea.isSea()) return undefined;
  return Buffer.from(sea.getAsset(key));
}

/** The asset's text, or undefined outside the single executable. */
export function seaText(key: string): string | undefined {
  if (!sea.isSea()) return undefined;
  return sea.getAsset(key, 'utf8');
}

/**
 * Writes the asset to `<dir>/<sha256><ext>` (or `<dir>/<name(sha256)>`) unless a file with that content is there already,
 * and returns its path. The write goes to a temporary name first and is renamed into place, so
 * a power cut or a second process never leaves a half-written file under the final name.
 */
export function materializeAsset(key: string, dir: string, name?: (sha: string) => string): string {
  const bytes = seaAsset(key);
  if (bytes === undefined) throw new Error(`not a single executable: no embedded ${key}`);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const file = join(dir, name ? name(sha) : `${sha}${extensionOf(key)}`);
  if (existsSync(file) && createHash('sha256').update(readFileSync(file)).digest('hex') === sha) return file;
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o755 });
  renameSync(tmp, file);
  return file;
}

function extensionOf(key: string): string {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot < 0 ? '' : base.slice(dot);
}

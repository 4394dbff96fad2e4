/**
 * The better-sqlite3 addon inside the single executable: written once under the data folder
 * (`<dataDir>/.native/<sha256>.node`) and loaded with `process.dlopen`. better-sqlite3 then takes
 * the loaded addon as its `nativeBinding` instead of looking for build/Release/ beside itself.
 */
import { join, resolve } from 'node:path';
import { isSea, materializeAsset, SEA_ASSETS } from './sea-assets.ts';

/** better-sqlite3 accepts a path or a loaded addon; @types/better-sqlite3 only knows the path. */
export interface NativeBindingOption {
  nativeBinding?: string;
}

// One addon per process (and per worker thread, each has its own module scope): dlopen of the
// same file again would initialise the addon a second time for no gain.
let loaded: object | undefined;

/** `{}` in a normal node process; in the single executable, the embedded addon, loaded. */
export function sqliteNativeBinding(dataDir: string): NativeBindingOption {
  if (!isSea()) return {};
  if (loaded === undefined) {
    const file = materializeAsset(SEA_ASSETS.sqliteAddon, join(resolve(dataDir), '.native'));
    const mod: { exports: object } = { exports: {} };
    process.dlopen(mod, file);
    loaded = mod.exports;
  }
  // better-sqlite3 12 (lib/database.js) uses an object given as nativeBinding as the addon itself
  return { nativeBinding: loaded as unknown as string };
}

/**
 * The parts of a single executable that depend on the target platform, each built once and
 * cached under .cache/ by the versions that make it (git ignores .cache/): the Node base binary
 * from the npm registry's node-linux-<arch> package of exactly the running Node version,
 * stripped; and the better-sqlite3 addon for that platform, cross-compiled for arm64 with
 * Debian's crossbuild-essential-arm64 against that package's headers.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type BinaryArch = 'x64' | 'arm64';
export const BINARY_ARCHES: readonly BinaryArch[] = ['x64', 'arm64'];

export interface PartsOptions {
  root: string;
  cacheDir: string;
  log: (line: string) => void;
}

/** tools per target: the x64 ones are the machine's own (CI and build hosts are x64) */
const TOOLCHAIN: Record<BinaryArch, { strip: string; cc: string; cxx: string; ar: string } | undefined> = {
  x64: undefined,
  arm64: { strip: 'aarch64-linux-gnu-strip', cc: 'aarch64-linux-gnu-gcc', cxx: 'aarch64-linux-gnu-g++', ar: 'aarch64-linux-gnu-ar' },
};
const APT_HINT = 'apt-get install -y crossbuild-essential-arm64 binutils-aarch64-linux-gnu';

function run(cmd: string, args: string[], opts: ExecFileSyncOptions = {}): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
    const out = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${out}`, { cause: err });
  }
}

function stripTool(arch: BinaryArch): string {
  return TOOLCHAIN[arch]?.strip ?? 'strip';
}

/** `<cache>/node-bin/node-v<V>-linux-<arch>/`: the npm package unpacked (bin/node, include/node) */
export function nodePackage(arch: BinaryArch, o: PartsOptions): string {
  const version = process.versions.node;
  const base = join(o.cacheDir, 'node-bin');
  const dir = join(base, `node-v${version}-linux-${arch}`);
  if (existsSync(join(dir, 'bin/node')) && existsSync(join(dir, 'include/node/node.h'))) return dir;
  mkdirSync(base, { recursive: true });
  const tgz = join(base, `node-linux-${arch}-${version}.tgz`);
  if (!existsSync(tgz)) {
    o.log(`npm pack node-linux-${arch}@${version}`);
    run('npm', ['pack', `node-linux-${arch}@${version}`, '--pack-destination', base, '--silent']);
  }
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run('tar', ['xzf', tgz, '-C', tmp, '--strip-components=1']);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/**
 * The stripped base binary. Stripped before the blob goes in: strip rewrites the ELF sections
 * and would drop or corrupt the injected NODE_SEA_BLOB note afterwards.
 */
export function strippedNode(arch: BinaryArch, o: PartsOptions): string {
  const pkg = nodePackage(arch, o);
  const out = join(o.cacheDir, 'node-bin', `node-v${process.versions.node}-linux-${arch}.stripped`);
  if (existsSync(out)) return out;
  copyFileSync(join(pkg, 'bin/node'), `${out}.tmp`);
  run(stripTool(arch), [`${out}.tmp`]);
  renameSync(`${out}.tmp`, out);
  return out;
}

/** better-sqlite3's addon for the target, stripped of its symbols (≈ 2 MB → 1.7 MB) */
export function sqliteAddon(arch: BinaryArch, o: PartsOptions): string {
  const pkgDir = join(o.root, 'node_modules/better-sqlite3');
  const bsq = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const out = join(o.cacheDir, 'native', `better-sqlite3-${bsq}-node-v${process.versions.node}-linux-${arch}.node`);
  if (existsSync(out)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const built = arch === process.arch ? join(pkgDir, 'build/Release/better_sqlite3.node') : crossCompile(arch, pkgDir, bsq, o);
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm ci (it builds better-sqlite3)`);
  copyFileSync(built, `${out}.tmp`);
  run(stripTool(arch), ['--strip-unneeded', `${out}.tmp`]);
  renameSync(`${out}.tmp`, out);
  return out;
}

/** node-gyp as npm ships it (npm_execpath is set under `npm run`; else npm's global folder) */
function nodeGyp(): string {
  const npmCli = process.env.npm_execpath;
  const candidates = [
    ...(npmCli ? [join(dirname(npmCli), '../node_modules/node-gyp/bin/node-gyp.js')] : []),
    join(execFileSync('npm', ['prefix', '-g'], { encoding: 'utf8' }).trim(), 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`node-gyp not found (looked in ${candidates.join(', ')})`);
  return found;
}

function crossCompile(arch: BinaryArch, pkgDir: string, bsq: string, o: PartsOptions): string {
  const tc = TOOLCHAIN[arch];
  if (!tc) throw new Error(`no cross toolchain for ${arch}`);
  try {
    execFileSync(tc.cxx, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tc.cxx} not found: ${APT_HINT}`);
  }
  const headers = nodePackage(arch, o);
  const src = join(o.cacheDir, 'native', `better-sqlite3-${bsq}-linux-${arch}-src`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  for (const part of ['binding.gyp', 'package.json', 'deps', 'src']) run('cp', ['-r', join(pkgDir, part), src]);
  o.log(`cross-compiling better-sqlite3 ${bsq} for linux-${arch} against ${headers}/include/node (a few minutes)`);
  const t0 = performance.now();
  run(process.execPath, [nodeGyp(), 'rebuild', '--release', `--arch=${arch}`, `--nodedir=${headers}`, '-j', '2'], {
    cwd: src,
    env: { ...process.env, CC: tc.cc, CXX: tc.cxx, LINK: tc.cxx, AR: tc.ar },
  });
  o.log(`  built in ${Math.round((performance.now() - t0) / 1000)} s`);
  return join(src, 'build/Release/better_sqlite3.node');
}

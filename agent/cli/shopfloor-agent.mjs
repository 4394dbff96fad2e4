#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=20 --single-threaded-gc --v8-pool-size=1
// Entry point (the `shopfloor-agent` command). Node runs it with GC settings for a small
// resident size: a young generation of at most 2 × 4 MB (V8's default is 2 × 16 MB) and the old
// generation allowed to grow 20 % past its live data between collections (V8 lets it reach
// several times that on a machine with much RAM). The collector works on the main thread only
// (--single-threaded-gc): on a 2-core box beside a server or a PLC gateway, helper threads
// competing for the other core cost more CPU in all than the pauses they save (−15 to −25 %
// per notification at 50,000 OPC UA tags; pauses of a few ms are nothing to a data logger),
// and V8 keeps one worker thread (--v8-pool-size=1, for compiling) instead of one per core:
// each thread's malloc arena holds memory of its own (≈ 5 MB less resident at 10,000 tags).
// test/bench/opcua.bench.ts measures both the memory and the CPU cost per notification with
// them (--optimize-for-size was smaller still, but doubled the CPU per notification).
// `npm start` passes the same flags.
// Runs the bundle in dist/agent/ (`npm run build`, also run by `npm ci`) when it is
// at least as new as every source file; otherwise, or with SFA_FROM_SOURCE=1, the TypeScript
// sources through tsx's loader, so an edited checkout never runs a stale bundle.
// Before anything else: queue SIGHUP/SIGTERM/SIGINT (Node's default is to die) until the agent
// takes them over; the same protocol as agent/runtime/early-signals.ts, which main.ts imports.
{
  const key = Symbol.for('shopfloor-agent.early-signals');
  if (!globalThis[key]) {
    const s = { queue: [], deliver: undefined, handler: (sig) => (s.deliver ? s.deliver(sig) : s.queue.push(sig)) };
    globalThis[key] = s;
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT']) process.on(sig, s.handler);
  }
}
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// node-opcua writes warnings to stdout, which is the agent's JSON log stream; it only
// warns about the RSA PKCS#1 v1.5 policies that the agent does not offer. Errors still show.
process.env.NODEOPCUA_LOG_LEVEL ??= '3';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bundle = join(root, 'dist/agent/main.js');

/** newest modification time of the sources the bundle is built from (a few ms: ~200 files) */
function newestSource() {
  let newest = statSync(join(root, 'package-lock.json'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') || e.name.endsWith('.mjs')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['agent', 'drivers', 'config']) walk(join(root, d));
  return newest;
}

let main;
const fromBundle = process.env.SFA_FROM_SOURCE !== '1' && existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource();
if (process.env.SFA_REPORT_ENTRY === '1') process.stderr.write(`entry: ${fromBundle ? 'bundle' : 'source'}\n`);
if (fromBundle) {
  ({ main } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./main.ts'));
}
process.exitCode = await main(process.argv.slice(2));

/**
 * The V8 memory settings of the npm bin's shebang (agent/cli/shopfloor-agent.mjs), for the
 * single executable, which on Node 20 takes no node flags of its own (the SEA config's
 * `execArgv` came with Node 24). Imported first by the binary's entry, so the heap is still
 * small when they take effect. README "Single binary" has what they save, measured.
 *
 * What can change in a running V8: --heap-growing-percent (read at each GC) and
 * --max-semi-space-size (a cap the young generation checks when it grows; it starts small). Not --single-threaded-gc: set in a running V8 it leaves
 * a concurrent-marking job behind and V8 aborts at the next full GC ("Check failed:
 * concurrent_marking_handle_"), and NODE_OPTIONS refuses it. --v8-pool-size is Node's, read once
 * when the platform starts: NODE_OPTIONS=--v8-pool-size=1 gives it (the binary honours
 * NODE_OPTIONS), which also leaves the collector a single helper thread.
 */
import { setFlagsFromString } from 'node:v8';

export const SEA_V8_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=20'] as const;

/** SFA_V8_FLAGS=0 leaves V8's defaults (to measure what the flags save) */
export function applyV8Flags(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SFA_V8_FLAGS === '0') return;
  for (const flag of SEA_V8_FLAGS) setFlagsFromString(flag);
}

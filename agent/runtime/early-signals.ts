/**
 * Signal handlers installed before anything else. Node's default for SIGHUP, SIGTERM and SIGINT
 * is to die; systemd sends SIGHUP for `reload` and would count an early one (arriving while the
 * agent still loads its modules or its config) as a clean exit. From the first line on, these
 * handlers queue every such signal; the lifecycle takes the queue over once the agent runs.
 *
 * The queue lives on the process (a global symbol), because the `shopfloor-agent` launcher
 * installs the same handlers before it even imports the bundle; installing twice is harmless.
 */
type QueuedSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT';

interface EarlySignals {
  queue: QueuedSignal[];
  handler: (sig: QueuedSignal) => void;
  /** set by the lifecycle: signals go to it from then on */
  deliver: ((sig: QueuedSignal) => void) | undefined;
}

const KEY = Symbol.for('shopfloor-agent.early-signals');
export const QUEUED_SIGNALS: readonly QueuedSignal[] = ['SIGHUP', 'SIGTERM', 'SIGINT'];

function state(): EarlySignals | undefined {
  return (globalThis as { [KEY]?: EarlySignals })[KEY];
}

export function installEarlySignals(): void {
  if (state()) return;
  const s: EarlySignals = {
    queue: [],
    deliver: undefined,
    handler: (sig) => {
      if (s.deliver) s.deliver(sig);
      else s.queue.push(sig);
    },
  };
  (globalThis as { [KEY]?: EarlySignals })[KEY] = s;
  for (const sig of QUEUED_SIGNALS) process.on(sig, s.handler);
}

/**
 * From now on every signal goes to `deliver`, starting with those queued so far (in order).
 * The returned function gives the queue back (signals queue again until the next taker).
 */
export function takeSignals(deliver: (sig: QueuedSignal) => void): () => void {
  installEarlySignals();
  const s = state() as EarlySignals;
  s.deliver = deliver;
  const queued = s.queue.splice(0);
  for (const sig of queued) deliver(sig);
  return () => {
    if (s.deliver === deliver) s.deliver = undefined;
  };
}

/**
 * For verbs that do not run the agent (`check`, `kpi` …): Node's defaults again, and a queued
 * SIGTERM or SIGINT is delivered now (it ends the process as it would have).
 */
export function releaseEarlySignals(): void {
  const s = state();
  if (!s) return;
  delete (globalThis as { [KEY]?: EarlySignals })[KEY];
  for (const sig of QUEUED_SIGNALS) process.off(sig, s.handler);
  const ending = s.queue.find((sig) => sig !== 'SIGHUP');
  if (ending) process.kill(process.pid, ending);
}

export type { QueuedSignal };

// on import: main.ts imports this module first, so the handlers exist before any other module loads
installEarlySignals();

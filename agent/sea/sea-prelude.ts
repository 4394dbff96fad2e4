// Imported first by the binary's entry, for its effect. ES imports run in order: SIGHUP, SIGTERM
// and SIGINT are queued from the first line (agent/runtime/early-signals.ts, as the npm bin's
// launcher does), then the V8 settings apply before the CLI's modules (commander, zod, pino …)
// fill the heap.
import '../runtime/early-signals.ts';
import { applyV8Flags } from './v8-flags.ts';

applyV8Flags();

// Imported first by the binary's entry, for its effect: ES imports run in order, so the V8
// settings apply before the CLI's modules (commander, zod, pino …) fill the heap.
import { applyV8Flags } from './v8-flags.ts';

applyV8Flags();

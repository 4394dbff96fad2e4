/**
 * Human-readable logs on a terminal inside the single executable. pino's `transport` option runs
 * pino-pretty in a worker thread that loads it from node_modules, which the binary does not
 * have; the binary's entry (agent/sea/sea-main.ts) registers pino-pretty, bundled in, as a
 * stream instead. Outside the binary nothing is registered and the transport is used as before.
 */
import type { DestinationStream } from 'pino';

export type PrettyStreamFactory = (options: Record<string, unknown>) => DestinationStream;

// set once by the binary's entry before any logger exists
let factory: PrettyStreamFactory | undefined;

export function registerPrettyStream(make: PrettyStreamFactory): void {
  factory = make;
}

/** a pretty-printing stream when the binary registered one, else undefined (use the transport) */
export function prettyStream(options: Record<string, unknown>): DestinationStream | undefined {
  return factory?.(options);
}

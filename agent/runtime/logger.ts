/**
 * pino: JSON lines to stdout; human-readable when stdout is a terminal. Every line passes the
 * Redactor (redact.ts) on its way out, so no secret reaches the log at any level, stacks included.
 */
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { Redactor, redactingDestination } from './redact.ts';

export type { Logger };

export interface LoggerOptions {
  pretty?: boolean;
  name?: string;
  /** the secrets to keep out of the log (default: none known, URL passwords and PEM keys still go) */
  redactor?: Redactor;
  /** where lines go (default: stdout) */
  out?: { write(s: string): boolean };
}

export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  const redacted = redactingDestination(opts.out ?? process.stdout, opts.redactor ?? new Redactor());
  // pretty-printing runs in this thread (not a transport worker) so its output is redacted too
  const dest: DestinationStream = pretty
    ? PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', destination: asWritable(redacted), sync: true })
    : redacted;
  return pino(
    {
      level,
      name: opts.name ?? 'shopfloor-agent',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest,
  );
}

function asWritable(dest: { write(s: string): boolean }): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, done): void {
      dest.write(chunk.toString());
      done();
    },
  });
}

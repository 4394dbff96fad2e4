/**
 * The driver contract (STYLE.md: tiny, like Telegraf's Start/Stop/Gather).
 * A driver turns protocol data into Samples and knows nothing of SQLite, KPIs or HTTP.
 * It never opens a connection in its constructor; start() does, stop() releases everything.
 * It keeps no module-level mutable state: several instances run at once.
 */
import type { Sample } from '../agent/model/index.ts';

export type SourceState = 'connecting' | 'connected' | 'disconnected' | 'error';

/** Minimal logger surface (pino's), so drivers do not depend on pino itself. */
export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DeadLetter {
  source: string;
  topic: string;
  reason: string;
  payload: Buffer | string;
}

export interface DriverContext {
  /** Hand samples to the buffer. Returns once they are queued (batched commit). */
  emit(samples: readonly Sample[]): void;
  /** Hand samples to the buffer and commit them before returning (ack-after-commit sources). */
  commit(samples: readonly Sample[]): void;
  /** A payload the driver could not use: stored with its reason, never thrown. */
  deadLetter(letter: DeadLetter): void;
  /** Report a connection state change; the runtime logs it once and shows it in /healthz. */
  setState(state: SourceState, detail?: string): void;
  log: DriverLogger;
}

export interface Driver {
  readonly id: string;
  readonly type: string;
  start(ctx: DriverContext): Promise<void>;
  stop(): Promise<void>;
}

/** A tag the source cannot deliver (an OPC UA nodeId the server does not know …), by the tag's address. */
export interface TagProblem {
  /** the tag's address in the source's terms (an OPC UA nodeId, a topic, a register) */
  tag: string;
  /** the protocol's status, e.g. "BadNodeIdUnknown" */
  status: string;
}

/** Optional ability (STYLE.md: a separate small interface): per-tag problems, shown in /healthz. */
export interface TagProblemReporter {
  tagProblems(): readonly TagProblem[];
}

export function reportsTagProblems(driver: Driver): driver is Driver & TagProblemReporter {
  return typeof (driver as Partial<TagProblemReporter>).tagProblems === 'function';
}

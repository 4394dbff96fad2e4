/** The forwarder's options and their defaults (one object), and a small timing helper. */
import { NO_CREDENTIALS, type BrokerCredentials } from '../tls-files.ts';
import type { ConfirmMode } from './confirmation.ts';

/** credentials: PEM files for mqtts:// / wss:// */
export interface ForwarderOptions extends BrokerCredentials {
  url: string;
  topicPrefix: string;
  site: string;
  agent: string;
  clientId: string;
  batchSize: number;
  /** batches published and not yet acknowledged, at most */
  inFlight: number;
  /** KPI snapshots are re-published this often (0: only on connect) */
  kpiIntervalMs: number;
  reconnectMs: number;
  connectTimeoutMs: number;
  /** the cursor is written at most this often (a crash resends at most this much) */
  cursorPersistMs: number;
  /** what lets retention delete: the broker's PUBACK, or the fleet's confirmation */
  confirm: ConfirmMode;
  /** with confirm: fleet, a confirmation behind the acknowledged cursor this long rewinds it */
  confirmTimeoutMs: number;
}

export const FORWARDER_DEFAULTS: Omit<ForwarderOptions, 'url' | 'site' | 'agent' | 'clientId'> = {
  topicPrefix: 'shopfloor',
  ...NO_CREDENTIALS,
  batchSize: 1000,
  inFlight: 8,
  kpiIntervalMs: 60_000,
  reconnectMs: 1000,
  connectTimeoutMs: 10_000,
  cursorPersistMs: 200,
  confirm: 'broker',
  confirmTimeoutMs: 60_000,
};

/** Waits for `p`, at most `ms`. */
export async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  if (t) clearTimeout(t);
}

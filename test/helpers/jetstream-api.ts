/**
 * The few JetStream API calls tests make through the wire client: create a stream, read its
 * state, read its messages back by sequence, and wait for a count.
 */
import { waitFor } from './peers.ts';
import type { WireClient } from './nats-wire.ts';

export interface JsApiError {
  error?: { code: number; err_code?: number; description: string };
}

export interface StreamConfig {
  name: string;
  subjects: string[];
  num_replicas?: number;
  storage?: 'file' | 'memory';
  duplicate_window?: number;
}

export interface StreamInfo extends JsApiError {
  config?: StreamConfig;
  state?: { messages: number; first_seq: number; last_seq: number };
  cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] };
}

export interface StoredMessage {
  subject: string;
  seq: number;
  data: Buffer;
}

function check<T extends JsApiError>(what: string, r: T): T {
  if (r.error) throw new Error(`${what}: ${r.error.code} ${r.error.description}`);
  return r;
}

export async function createStream(nc: WireClient, cfg: StreamConfig): Promise<StreamInfo> {
  const body = { retention: 'limits', storage: 'file', discard: 'old', ...cfg };
  return check(`create stream ${cfg.name}`, await nc.api<StreamInfo>(`$JS.API.STREAM.CREATE.${cfg.name}`, body, 15_000));
}

export async function streamInfo(nc: WireClient, name: string): Promise<StreamInfo> {
  return check(`stream info ${name}`, await nc.api<StreamInfo>(`$JS.API.STREAM.INFO.${name}`, undefined, 5_000));
}

export async function deleteStream(nc: WireClient, name: string): Promise<void> {
  check(`delete stream ${name}`, await nc.api<JsApiError>(`$JS.API.STREAM.DELETE.${name}`, undefined, 10_000));
}

/** every message of the stream, in order (tests keep streams small) */
export async function streamMessages(nc: WireClient, name: string): Promise<StoredMessage[]> {
  const info = await streamInfo(nc, name);
  const out: StoredMessage[] = [];
  const last = info.state?.last_seq ?? 0;
  const first = Math.max(1, info.state?.first_seq ?? 1);
  for (let seq = first; seq <= last; seq++) {
    const r = await nc.api<JsApiError & { message?: { subject: string; seq: number; data?: string } }>(`$JS.API.STREAM.MSG.GET.${name}`, { seq }, 5_000);
    if (r.error?.code === 404) continue; // deleted
    check(`get ${name} #${seq}`, r);
    if (r.message) out.push({ subject: r.message.subject, seq: r.message.seq, data: Buffer.from(r.message.data ?? '', 'base64') });
  }
  return out;
}

export async function waitStreamCount(nc: WireClient, name: string, atLeast: number, timeoutMs = 15_000): Promise<number> {
  return waitFor(async () => {
    const n = (await streamInfo(nc, name).catch(() => undefined))?.state?.messages ?? 0;
    return n >= atLeast ? n : undefined;
  }, timeoutMs, `${atLeast} messages in stream ${name}`, 100);
}

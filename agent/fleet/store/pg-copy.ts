/**
 * Sample rows in PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`), one
 * buffer per message. The server then reads integers, floats and timestamps as they are stored
 * instead of parsing their text (float8in and timestamptz_in were most of its time per row),
 * and text needs no escaping at all. Columns in `SAMPLE_COPY_COLUMNS` order.
 */
import { AgentError } from '../../errors.ts';
import type { SamplesMessage } from '../messages.ts';
import { newestTs, valueColumns, type BatchSamples, type EncodedSamples } from './fleet-store.ts';

export const SAMPLE_COPY_COLUMNS = '(instance, id, site, agent, machine, signal, ts, value, text_value, quality)';
const FIELDS = 10;

/** "PGCOPY\n\377\r\n\0", flags 0, header extension length 0 */
export const COPY_HEADER: Buffer = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\x00', 'latin1'), Buffer.alloc(8)]);
/** a field count of -1 ends the data */
export const COPY_TRAILER: Buffer = Buffer.from([0xff, 0xff]);

const TWO_32 = 4294967296;
/** PostgreSQL's timestamp epoch (2000-01-01T00:00:00Z) in Unix epoch ms */
const PG_EPOCH_MS = 946_684_800_000;

/** A growable byte buffer with the few big-endian writes a row needs. */
class RowWriter {
  buf: Buffer;
  off = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  int16(v: number): void {
    const b = this.buf;
    b[this.off] = (v >>> 8) & 0xff;
    b[this.off + 1] = v & 0xff;
    this.off += 2;
  }

  int32(v: number): void {
    const b = this.buf;
    const o = this.off;
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.off = o + 4;
  }

  /** a bigint field from a safe integer ≥ 0 */
  int8Field(v: number): void {
    this.int32(8);
    this.int32(Math.floor(v / TWO_32));
    this.int32(v >>> 0);
  }

  float8Field(v: number): void {
    this.int32(8);
    this.buf.writeDoubleBE(v, this.off);
    this.off += 8;
  }

  /** a timestamptz field: microseconds since 2000-01-01 UTC, as int64 */
  timestampField(ms: number): void {
    this.int32(8);
    if (!Number.isInteger(ms)) {
      this.buf.writeBigInt64BE(BigInt(Math.round((ms - PG_EPOCH_MS) * 1000)), this.off);
      this.off += 8;
      return;
    }
    // exact for every integer ms the messages allow (0 … 8.64e15): µs = v·1000 split in 32-bit halves
    const v = ms - PG_EPOCH_MS;
    const hi = Math.floor(v / TWO_32);
    const lo = (v - hi * TWO_32) * 1000;
    const carry = Math.floor(lo / TWO_32);
    this.int32(hi * 1000 + carry);
    this.int32(lo - carry * TWO_32);
  }

  /** a text field in UTF-8; U+0000 is refused (PostgreSQL text cannot hold it) */
  textField(s: string): void {
    const n = s.length;
    this.ensure(4 + 3 * n);
    const b = this.buf;
    const start = this.off + 4;
    let o = start;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c >= 0x80) return this.textFieldSlow(s);
      b[o++] = c;
    }
    this.int32(o - start);
    this.off = o;
  }

  private textFieldSlow(s: string): void {
    if (s.includes('\u0000')) throw new AgentError('SFA_ERR_PAYLOAD', `a text value holds U+0000, which PostgreSQL text cannot store: ${JSON.stringify(s.slice(0, 40))}`);
    // a UTF-16 code unit takes at most 3 bytes in UTF-8 (ensured by the caller); a lone surrogate becomes U+FFFD as `pg` itself writes it
    const len = this.buf.write(s, this.off + 4, 'utf8');
    this.int32(len);
    this.off += len;
  }

  nullField(): void {
    this.int32(-1);
  }
}

/** One message's rows, without header or trailer. */
export function encodeSampleRows(m: SamplesMessage): Buffer {
  const samples = m.samples;
  const w = new RowWriter(64 + samples.length * (110 + m.instance.length + m.site.length + m.agent.length));
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i] as SamplesMessage['samples'][number];
    // text fields ensure their own room
    w.ensure(2);
    w.int16(FIELDS);
    w.textField(m.instance);
    w.ensure(12);
    w.int8Field(x.id);
    w.textField(m.site);
    w.textField(m.agent);
    w.textField(x.machine);
    w.textField(x.signal);
    w.ensure(24);
    w.timestampField(x.ts);
    const [v, t] = valueColumns(x.value);
    if (v === null) w.nullField();
    else w.float8Field(v);
    if (t === null) {
      w.ensure(4);
      w.nullField();
    } else w.textField(t);
    w.textField(x.quality);
  }
  return w.buf.subarray(0, w.off);
}

/** A message with its rows encoded (`PgStore.encodeSamples`); the parsed samples are let go. */
export function encodeSamples(m: SamplesMessage): EncodedSamples {
  const { samples, ...chain } = m;
  return { ...chain, encoded: encodeSampleRows(m), rows: samples.length, maxTs: newestTs(m) };
}

/** The whole COPY stream of some messages: header, each message's rows, trailer. */
export function* copyChunks(messages: readonly BatchSamples[]): Generator<Buffer> {
  yield COPY_HEADER;
  for (const m of messages) yield 'encoded' in m ? m.encoded : encodeSampleRows(m);
  yield COPY_TRAILER;
}

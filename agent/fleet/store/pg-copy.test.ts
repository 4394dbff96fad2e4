/**
 * The binary COPY encoder read back by a small decoder of the format (the PostgreSQL round
 * trip is in pg-samples.test.ts): field layout, exact int64 ids and microsecond timestamps at
 * the edges of what messages allow, UTF-8 text without escaping, U+0000 refused.
 */
import { describe, expect, it } from 'vitest';
import type { SamplesMessage } from '../messages.ts';
import { COPY_HEADER, COPY_TRAILER, copyChunks, encodeSampleRows } from './pg-copy.ts';

type Field = Buffer | null;

function decodeRows(buf: Buffer): Field[][] {
  const rows: Field[][] = [];
  let o = 0;
  while (o < buf.length) {
    const n = buf.readInt16BE(o);
    o += 2;
    const row: Field[] = [];
    for (let i = 0; i < n; i++) {
      const len = buf.readInt32BE(o);
      o += 4;
      if (len < 0) row.push(null);
      else {
        row.push(buf.subarray(o, o + len));
        o += len;
      }
    }
    rows.push(row);
  }
  return rows;
}

const PG_EPOCH_US = 946_684_800_000n * 1000n;

function message(samples: Partial<SamplesMessage['samples'][number]>[]): SamplesMessage {
  return {
    agent: 'edge-1',
    site: 'site-a',
    instance: 'i1',
    firstId: 1,
    lastId: samples.length,
    prevLastId: 0,
    samples: samples.map((x, i) => ({ id: i + 1, machine: 'm1', signal: 's', ts: 0, value: null, quality: 'good', ...x })),
  };
}

describe('binary COPY encoding of sample rows', () => {
  it('writes ten fields per row in the column order, with exact ids and microsecond timestamps', () => {
    const ids = [1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const tss = [0, 1, 946_684_800_000, 946_684_799_999, Date.UTC(2026, 10, 2, 8, 0, 0, 123), 8.64e15];
    const samples = tss.map((ts, i) => ({ id: ids[i % ids.length] as number, ts, value: i % 2 ? i + 0.25 : `t${i}` }));
    const m = message(samples);
    const rows = decodeRows(encodeSampleRows(m));
    expect(rows).toHaveLength(samples.length);
    rows.forEach((r, i) => {
      const x = samples[i] as (typeof samples)[number];
      expect(r).toHaveLength(10);
      expect(r.map((f, k) => ([0, 2, 3, 4, 5, 8, 9].includes(k) && f ? f.toString('utf8') : undefined))).toEqual(['i1', undefined, 'site-a', 'edge-1', 'm1', 's', undefined, undefined, typeof x.value === 'string' ? x.value : undefined, 'good']);
      expect((r[1] as Buffer).readBigInt64BE(0)).toBe(BigInt(x.id));
      expect((r[6] as Buffer).readBigInt64BE(0)).toBe(BigInt(x.ts) * 1000n - PG_EPOCH_US);
      if (typeof x.value === 'number') {
        expect((r[7] as Buffer).readDoubleBE(0)).toBe(x.value);
        expect(r[8]).toBeNull();
      } else expect(r[7]).toBeNull();
    });
  });

  it('writes booleans as 1/0 and null as two null columns; a fractional ms keeps its microseconds', () => {
    const rows = decodeRows(encodeSampleRows(message([{ value: true }, { value: false }, { value: null, ts: 1.5 }])));
    expect((rows[0]?.[7] as Buffer).readDoubleBE(0)).toBe(1);
    expect((rows[1]?.[7] as Buffer).readDoubleBE(0)).toBe(0);
    expect([rows[2]?.[7], rows[2]?.[8]]).toEqual([null, null]);
    expect((rows[2]?.[6] as Buffer).readBigInt64BE(0)).toBe(1500n - PG_EPOCH_US);
  });

  it('writes text as UTF-8 without escaping: quotes, tabs, backslashes, newlines, unicode; a lone surrogate as U+FFFD', () => {
    const texts = ['"q"', 'a\tb', 'back\\slash\\N', 'line\nbreak\r\n', 'ünïcödé ✓', '😀', '\ud800x', 'x'.repeat(65_536)];
    const rows = decodeRows(encodeSampleRows(message(texts.map((value) => ({ value, signal: value.slice(0, 128) })))));
    expect(rows.map((r) => r[8]?.toString('utf8'))).toEqual(texts.map((t) => Buffer.from(t, 'utf8').toString('utf8')));
    expect(rows[6]?.[8]?.toString('utf8')).toBe('\ufffdx');
    expect(rows.map((r) => r[5]?.toString('utf8'))).toEqual(texts.map((t) => Buffer.from(t.slice(0, 128), 'utf8').toString('utf8')));
  });

  it('refuses U+0000 in any text column with SFA_ERR_PAYLOAD', () => {
    for (const over of [{ value: 'a\u0000b' }, { signal: '\u0000' }, { machine: 'm\u0000' }, { value: 'ü\u0000' }]) {
      expect(() => encodeSampleRows(message([{}, over]))).toThrow(expect.objectContaining({ code: 'SFA_ERR_PAYLOAD' }));
    }
  });

  it('frames the stream with the header and the trailer', () => {
    const chunks = [...copyChunks([message([{}]), message([{}, {}])])];
    expect(chunks[0]).toBe(COPY_HEADER);
    expect(COPY_HEADER.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\x00');
    expect(COPY_HEADER).toHaveLength(19);
    expect(chunks.at(-1)).toBe(COPY_TRAILER);
    expect(decodeRows(Buffer.concat(chunks.slice(1, -1)))).toHaveLength(3);
  });
});

/**
 * The exact DateTime decoder that replaces node-opcua's (opcua-fast-datetime.ts): the same
 * [date, picoseconds] as node-opcua's own function for every (high, low) pair, and node-opcua's
 * DataValue decoding goes through it once installed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DataType, DataValue, Variant, decodeDataValue, encodeDataValue } from 'node-opcua-client';
import { BinaryStream } from 'node-opcua-binary-stream';
import dateTime from 'node-opcua-date-time/dist/date_time.js';
import {
  fastDateTimeDecodingInstalled,
  hundredNanoSecondFrom1601ToDate,
  installFastDateTimeDecoding,
  originalHundredNanoSecondFrom1601ToDate,
} from './opcua-fast-datetime.ts';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });

function same(high: number, low: number, ps = 0): void {
  const [a, pa] = originalHundredNanoSecondFrom1601ToDate(high, low, ps);
  const [b, pb] = hundredNanoSecondFrom1601ToDate(high, low, ps);
  expect(b.getTime()).toBe(a.getTime()); // NaN (an Invalid Date) equals NaN here
  expect(pb).toBe(pa);
}

describe('exact DateTime decoding without 64-bit objects', () => {
  it('equals node-opcua for every (high, low): signed words as the stream reads them, unsigned, and picoseconds', () => {
    fc.assert(fc.property(int32, int32, (h, l) => same(h, l)), { numRuns: 20_000 });
    fc.assert(fc.property(uint32, uint32, fc.integer({ min: 0, max: 99_999 }), (h, l, ps) => same(h, l, ps)), { numRuns: 20_000 });
  });

  it('equals node-opcua at the edges and around today', () => {
    const edges: [number, number][] = [
      [0, 0],
      [0, 1],
      [0, 9_999],
      [0, 10_000],
      [0xffffffff, 0xffffffff],
      [-1, -1],
      [0x7fffffff, 0xffffffff],
      [0x80000000, 0],
    ];
    for (const [h, l] of edges) same(h, l);
    // 1970, today and 9999-12-31 (the OPC UA maximum), with sub-millisecond ticks
    for (const ms of [0, Date.UTC(2026, 11, 1, 10, 0, 0, 123), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
      const ticks = (BigInt(ms) + 11_644_473_600_000n) * 10_000n + 4_321n;
      const high = Number(ticks >> 32n);
      const low = Number(ticks & 0xffffffffn);
      same(high, low);
      const [d, ps] = hundredNanoSecondFrom1601ToDate(high, low);
      expect(d.getTime()).toBe(ms);
      expect(ps).toBe(432_100_000);
    }
  });

  it("is what node-opcua's DataValue decoding calls once installed", () => {
    const dv = new DataValue({
      value: new Variant({ dataType: DataType.Double, value: 21.5 }),
      sourceTimestamp: new Date(Date.UTC(2026, 11, 1, 8, 30, 0, 250)),
      serverTimestamp: new Date(Date.UTC(2026, 11, 1, 8, 30, 0, 260)),
      sourcePicoseconds: 5_000_000,
    });
    const out = new BinaryStream(Buffer.alloc(64));
    encodeDataValue(dv, out);
    const bytes = out.buffer.subarray(0, out.length);

    const sentinel = new Date(Date.UTC(2000, 0, 1));
    dateTime.bn_hundredNanoSecondFrom1601ToDate = () => [sentinel, 0];
    try {
      expect(decodeDataValue(new BinaryStream(bytes)).sourceTimestamp?.getTime()).toBe(sentinel.getTime());
    } finally {
      installFastDateTimeDecoding();
    }
    expect(fastDateTimeDecodingInstalled()).toBe(true);
    const back = decodeDataValue(new BinaryStream(bytes));
    expect(back.sourceTimestamp?.getTime()).toBe(dv.sourceTimestamp?.getTime());
    expect(back.serverTimestamp?.getTime()).toBe(dv.serverTimestamp?.getTime());
    expect(back.sourcePicoseconds).toBe(5_000_000);
  });
});

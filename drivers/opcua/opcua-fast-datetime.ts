/**
 * A faster, exact DateTime decoder for node-opcua's binary decoding.
 *
 * Every data-change notification carries two OPC UA DateTimes (source and server timestamp),
 * 64-bit counts of 100 ns since 1601. node-opcua-date-time turns each into a JS Date with the
 * `long` package: about seven Long objects and two 64-bit divisions per timestamp. At tens of
 * thousands of notifications per second that is about half of all decoding time (≈ 1.2 µs →
 * 0.63 µs per DataValue on the bench machine) and most of its garbage.
 *
 * The same result without 64-bit objects: with v = high·2^32 + low and 2^32 = 429496·10^4 + 7296,
 *   ms since 1601 = high·429496 + ⌊(high·7296 + low) / 10^4⌋, remainder (high·7296 + low) mod 10^4,
 * and every intermediate stays below 2^53, so double arithmetic is exact. A property test
 * compares it with node-opcua's own function over the whole (high, low) range.
 *
 * node-opcua's decoders call the function through the module's exports object at each call, so
 * replacing that property is enough. Installed once when the OPC UA driver loads; encoding and
 * every other part of node-opcua are left as they are.
 */
import dateTime from 'node-opcua-date-time/dist/date_time.js';

/** ms between 1601-01-01 and 1970-01-01 */
const OFFSET_1601_MS = 11_644_473_600_000;
/** 2^32 = TWO_32_DIV_1E4 · 10^4 + TWO_32_MOD_1E4 */
const TWO_32_DIV_1E4 = 429_496;
const TWO_32_MOD_1E4 = 7_296;

type Decode = typeof dateTime.bn_hundredNanoSecondFrom1601ToDate;

/** Same contract as node-opcua's bn_hundredNanoSecondFrom1601ToDate: [date, picoseconds]. */
export const hundredNanoSecondFrom1601ToDate: Decode = (high, low, picoseconds = 0) => {
  const hi = high >>> 0;
  const rest = hi * TWO_32_MOD_1E4 + (low >>> 0); // < 2^46
  const q = Math.floor(rest / 10_000);
  const ms = hi * TWO_32_DIV_1E4 + q - OFFSET_1601_MS;
  // the 100 ns ticks below the millisecond, in picoseconds (as node-opcua reports them)
  return [new Date(ms), (rest - q * 10_000) * 100_000 + (picoseconds || 0)];
};

/** node-opcua's own decoder, kept for the property test and for uninstall */
export const originalHundredNanoSecondFrom1601ToDate: Decode = dateTime.bn_hundredNanoSecondFrom1601ToDate;

/** Replaces node-opcua's DateTime decoder (idempotent). */
export function installFastDateTimeDecoding(): void {
  dateTime.bn_hundredNanoSecondFrom1601ToDate = hundredNanoSecondFrom1601ToDate;
}

export function fastDateTimeDecodingInstalled(): boolean {
  return dateTime.bn_hundredNanoSecondFrom1601ToDate === hundredNanoSecondFrom1601ToDate;
}

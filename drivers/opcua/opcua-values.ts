/**
 * OPC UA DataValue → Sample value, quality and timestamp. Pure: no I/O, no node-opcua client.
 * Prepared per tag at start-up (STYLE.md: hot paths computed once up front).
 */
import { DataType, VariantArrayType, type DataValue } from 'node-opcua-client';
import type { Quality, Sample, SampleValue } from '../../agent/model/index.ts';

/** Why a value could not be stored as it is (reported once per tag). */
export type ValueIssue = 'array' | 'structure' | 'inexact-int64';

export interface ConvertedValue {
  sample: Sample;
  issue: ValueIssue | undefined;
}

export interface ValueTag {
  machine: string;
  signal: string;
  scale: number | undefined;
}

const TWO_32 = 4294967296n;

/** StatusCode severity (top two bits): 00 good, 01 uncertain, 10/11 bad. */
export function qualityOf(statusCodeValue: number): Quality {
  const severity = statusCodeValue >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

/** Source timestamp, else server timestamp, else the time it was received. */
export function timestampOf(dv: DataValue, receivedAt: number): number {
  const src = dv.sourceTimestamp?.getTime();
  if (src !== undefined && src > 0) return src;
  const srv = dv.serverTimestamp?.getTime();
  if (srv !== undefined && srv > 0) return srv;
  return receivedAt;
}

/**
 * node-opcua carries Int64/UInt64 as [high, low] 32-bit words. Exact when |v| ≤ 2^53 − 1;
 * otherwise the nearest double, flagged inexact.
 */
export function int64ToNumber(raw: unknown, signed: boolean): { value: number; exact: boolean } | undefined {
  let big: bigint;
  if (Array.isArray(raw) && raw.length === 2 && typeof raw[0] === 'number' && typeof raw[1] === 'number') {
    big = (BigInt(raw[0] >>> 0) << 32n) + BigInt(raw[1] >>> 0);
    if (signed && raw[0] >>> 0 >= 0x80000000) big -= TWO_32 * TWO_32;
  } else if (typeof raw === 'bigint') big = raw;
  else if (typeof raw === 'number' && Number.isInteger(raw)) big = BigInt(raw);
  else return undefined;
  const value = Number(big);
  return { value, exact: Number.isSafeInteger(value) && BigInt(value) === big };
}

const NUMERIC = new Set<number>([
  DataType.SByte, DataType.Byte, DataType.Int16, DataType.UInt16, DataType.Int32, DataType.UInt32, DataType.Float, DataType.Double,
]);

const STRUCTURED = new Set<number>([
  DataType.ExtensionObject, DataType.ByteString, DataType.XmlElement, DataType.DataValue, DataType.Variant, DataType.DiagnosticInfo,
]);

export function convertDataValue(tag: ValueTag, dv: DataValue, receivedAt: number): ConvertedValue {
  const ts = timestampOf(dv, receivedAt);
  let quality = qualityOf(dv.statusCode.value);
  let value: SampleValue = null;
  let issue: ValueIssue | undefined;
  const v = dv.value;
  if (quality !== 'bad' && v && v.dataType !== DataType.Null) {
    const raw: unknown = v.value;
    if (v.arrayType !== VariantArrayType.Scalar) issue = 'array';
    else if (STRUCTURED.has(v.dataType)) issue = 'structure';
    else if (v.dataType === DataType.Int64 || v.dataType === DataType.UInt64) {
      const n = int64ToNumber(raw, v.dataType === DataType.Int64);
      if (n) {
        value = n.value;
        if (!n.exact) {
          issue = 'inexact-int64';
          if (quality === 'good') quality = 'uncertain';
        }
      }
    } else if (NUMERIC.has(v.dataType) || v.dataType === DataType.StatusCode) {
      const n = typeof raw === 'number' ? raw : typeof raw === 'object' && raw !== null && 'value' in raw ? Number((raw as { value: unknown }).value) : Number.NaN;
      value = Number.isFinite(n) ? n : null;
    } else if (v.dataType === DataType.Boolean) value = raw === true;
    else if (v.dataType === DataType.DateTime) value = raw instanceof Date && !Number.isNaN(raw.getTime()) ? raw.toISOString() : null;
    else if (v.dataType === DataType.LocalizedText) value = (raw as { text?: string | null } | null)?.text ?? null;
    else if (v.dataType === DataType.QualifiedName) value = (raw as { name?: string | null } | null)?.name ?? null;
    else if (typeof raw === 'string') value = raw;
    else if (raw !== null && raw !== undefined && (v.dataType === DataType.NodeId || v.dataType === DataType.ExpandedNodeId || v.dataType === DataType.Guid)) {
      value = String(raw);
    } else issue = 'structure';
    if (typeof value === 'number' && tag.scale !== undefined) value *= tag.scale;
  }
  if (value === null && quality === 'good') quality = 'bad';
  return { sample: { machine: tag.machine, signal: tag.signal, ts, value, quality }, issue };
}

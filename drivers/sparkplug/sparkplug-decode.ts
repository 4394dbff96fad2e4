/**
 * Sparkplug B payloads and topics, decoded with the Eclipse Tahu payload definition
 * (npm `sparkplug-payload`) into plain values: 64-bit integers become numbers, unsupported
 * metric types (DataSet, Template, Bytes, File, PropertySet) are kept with value undefined.
 * Pure and total: garbage becomes a reason, never an exception.
 */
import { get } from 'sparkplug-payload';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';

export const SPARKPLUG_NAMESPACE = 'spBv1.0';

export type SparkplugMessageType = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD' | 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD' | 'STATE';

export interface SparkplugTopic {
  group: string;
  type: SparkplugMessageType;
  node: string;
  /** '' for node-level messages */
  device: string;
}

export interface SparkplugMetric {
  name: string | undefined;
  alias: number | undefined;
  timestamp: number | undefined;
  isHistorical: boolean;
  isNull: boolean;
  type: string;
  /** undefined: a type the agent does not store (DataSet, Template, Bytes …) */
  value: number | boolean | string | null | undefined;
}

export interface SparkplugPayload {
  timestamp: number | undefined;
  seq: number | undefined;
  metrics: SparkplugMetric[];
}

const TYPES = new Set<string>(['NBIRTH', 'NDEATH', 'NDATA', 'NCMD', 'DBIRTH', 'DDEATH', 'DDATA', 'DCMD']);

/** spBv1.0/{group}/{type}/{node}[/{device}]; STATE is spBv1.0/STATE/{host} (Sparkplug 3.0). */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const p = topic.split('/');
  if (p[0] !== SPARKPLUG_NAMESPACE) return undefined;
  if (p[1] === 'STATE' && p.length === 3) return { group: '', type: 'STATE', node: p[2] ?? '', device: '' };
  const [, group, type, node, device] = p;
  if (group === undefined || type === undefined || node === undefined || !TYPES.has(type)) return undefined;
  const isDevice = type.startsWith('D');
  if (isDevice ? p.length !== 5 || !device : p.length !== 4) return undefined;
  return { group, type: type as SparkplugMessageType, node, device: isDevice ? (device as string) : '' };
}

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

function longToNumber(v: LongLike, signed: boolean): number {
  const hi = signed ? v.high | 0 : v.high >>> 0;
  return hi * 4294967296 + (v.low >>> 0);
}

function toNum(v: unknown, signed: boolean): number | undefined {
  if (typeof v === 'number') return v;
  if (isLong(v)) return longToNumber(v, signed);
  return undefined;
}

function metricValue(type: string, raw: unknown): SparkplugMetric['value'] {
  switch (type) {
    case 'Int8': {
      const n = toNum(raw, true);
      return n === undefined ? undefined : (n << 24) >> 24;
    }
    case 'Int16': {
      const n = toNum(raw, true);
      return n === undefined ? undefined : (n << 16) >> 16;
    }
    case 'Int32': {
      const n = toNum(raw, true);
      return n === undefined ? undefined : n | 0;
    }
    case 'Int64':
      return toNum(raw, true);
    case 'UInt8':
    case 'UInt16':
    case 'UInt32':
    case 'UInt64':
    case 'DateTime':
      return toNum(raw, false);
    case 'Float':
    case 'Double':
      return typeof raw === 'number' ? raw : undefined;
    case 'Boolean':
      return typeof raw === 'boolean' ? raw : undefined;
    case 'String':
    case 'Text':
    case 'UUID':
      return typeof raw === 'string' ? raw : undefined;
    default:
      return undefined;
  }
}

export type SparkplugDecodeResult = { ok: true; payload: SparkplugPayload } | { ok: false; reason: string };

/** Keeps one decoder per instance (the Tahu module is stateless, but we hold no module state). */
export class SparkplugCodec {
  private readonly tahu = get(SPARKPLUG_NAMESPACE);

  decode(buf: Uint8Array): SparkplugDecodeResult {
    if (!this.tahu) return { ok: false, reason: 'sparkplug: Tahu payload definition unavailable' };
    let p: UPayload;
    try {
      p = this.tahu.decodePayload(buf);
    } catch (e) {
      return { ok: false, reason: `sparkplug: garbage protobuf: ${(e as Error).message}` };
    }
    const metrics: SparkplugMetric[] = [];
    for (const m of p.metrics ?? []) {
      const type = typeof m.type === 'string' ? m.type : 'Unknown';
      const isNull = m.isNull === true || m.value === null || m.value === undefined;
      metrics.push({
        name: typeof m.name === 'string' ? m.name : undefined,
        alias: m.alias === undefined || m.alias === null ? undefined : toNum(m.alias, false),
        timestamp: m.timestamp === undefined || m.timestamp === null ? undefined : toNum(m.timestamp, false),
        isHistorical: m.isHistorical === true,
        isNull,
        type,
        value: isNull ? null : metricValue(type, m.value),
      });
    }
    return {
      ok: true,
      payload: {
        timestamp: p.timestamp === undefined || p.timestamp === null ? undefined : toNum(p.timestamp, false),
        seq: p.seq === undefined || p.seq === null ? undefined : toNum(p.seq, false),
        metrics,
      },
    };
  }

  /** Only used for the rebirth request (and by tests/tools that play an edge node). */
  encode(payload: UPayload): Uint8Array {
    if (!this.tahu) throw new Error('sparkplug: Tahu payload definition unavailable');
    return this.tahu.encodePayload(payload);
  }
}

/**
 * Modbus register planning and decoding. Pure. At start-up the registers of a polling group
 * are merged into as few read requests as the protocol allows (≤ 125 registers or ≤ 2000
 * bits per request, small gaps read through); each register keeps where its words sit in
 * the block, so the hot path only slices and converts.
 */
import type { ModbusRegisterConfig } from './modbus-schema.ts';
import type { SampleValue } from '../../agent/model/index.ts';

export type ModbusTable = ModbusRegisterConfig['table'];
export type ModbusType = NonNullable<ModbusRegisterConfig['type']>;

/** The only function codes the driver ever sends: reads. */
export const READ_FUNCTION_CODES: Record<ModbusTable, number> = { coil: 1, discrete: 2, holding: 3, input: 4 };

export const REGISTER_PLAN_DEFAULTS = {
  /** Modbus limits per request */
  maxRegisters: 125,
  maxBits: 2000,
  /** unused registers read through to save a request (reads of them must be harmless) */
  maxGap: 8,
};

export interface PlannedRegister {
  config: ModbusRegisterConfig;
  type: ModbusType;
  words: number;
  /** offset in the block, in words (registers) or bits */
  offset: number;
}

export interface ReadBlock {
  table: ModbusTable;
  address: number;
  count: number;
  registers: PlannedRegister[];
}

export function wordsOf(type: ModbusType): number {
  switch (type) {
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
    default:
      return 1;
  }
}

export function planBlocks(registers: readonly ModbusRegisterConfig[], opts = REGISTER_PLAN_DEFAULTS): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  const tables: ModbusTable[] = ['holding', 'input', 'coil', 'discrete'];
  for (const table of tables) {
    const bits = table === 'coil' || table === 'discrete';
    const limit = bits ? opts.maxBits : opts.maxRegisters;
    const regs = registers
      .filter((r) => r.table === table)
      .map((r) => {
        const type: ModbusType = r.type ?? (bits ? 'bool' : 'uint16');
        return { config: r, type, words: bits ? 1 : wordsOf(type) };
      })
      .sort((a, b) => a.config.address - b.config.address);
    let cur: ReadBlock | undefined;
    for (const r of regs) {
      const end = r.config.address + r.words;
      if (cur && r.config.address <= cur.address + cur.count + opts.maxGap && Math.max(cur.address + cur.count, end) - cur.address <= limit) {
        cur.count = Math.max(cur.address + cur.count, end) - cur.address;
      } else {
        cur = { table, address: r.config.address, count: r.words, registers: [] };
        blocks.push(cur);
      }
      cur.registers.push({ ...r, offset: r.config.address - cur.address });
    }
  }
  return blocks;
}

/**
 * A register's value from the block's raw bytes (2 per register, as on the wire).
 * wordOrder "little": low word first; byteOrder "little": bytes swapped inside each word.
 */
export function decodeRegister(r: PlannedRegister, raw: Buffer): SampleValue {
  const bytes = Buffer.allocUnsafe(r.words * 2);
  for (let w = 0; w < r.words; w++) {
    const src = (r.offset + (r.config.wordOrder === 'little' ? r.words - 1 - w : w)) * 2;
    const hi = raw[src] ?? 0;
    const lo = raw[src + 1] ?? 0;
    bytes[w * 2] = r.config.byteOrder === 'little' ? lo : hi;
    bytes[w * 2 + 1] = r.config.byteOrder === 'little' ? hi : lo;
  }
  let v: number;
  switch (r.type) {
    case 'bool':
      return bytes.readUInt16BE(0) !== 0;
    case 'int16':
      v = bytes.readInt16BE(0);
      break;
    case 'uint16':
      v = bytes.readUInt16BE(0);
      break;
    case 'int32':
      v = bytes.readInt32BE(0);
      break;
    case 'uint32':
      v = bytes.readUInt32BE(0);
      break;
    case 'float32':
      v = bytes.readFloatBE(0);
      break;
    case 'float64':
      v = bytes.readDoubleBE(0);
      break;
  }
  return scaled(r.config, v);
}

export function scaled(c: Pick<ModbusRegisterConfig, 'scale' | 'offset'>, v: number): number | null {
  if (!Number.isFinite(v)) return null;
  return v * (c.scale ?? 1) + (c.offset ?? 0);
}

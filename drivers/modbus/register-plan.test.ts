import { describe, expect, it } from 'vitest';
import { modbusRegisterSchema } from '../../config/schema.ts';
import { toWords } from './modbus-test-device.ts';
import { decodeRegister, planBlocks } from './register-plan.ts';

const reg = (r: Record<string, unknown>) => modbusRegisterSchema.parse({ machine: 'm', signal: 's', ...r });
const raw = (words: number[]): Buffer => {
  const b = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return b;
};

describe('planBlocks', () => {
  it('merges nearby registers per table, reads small gaps through, splits at the protocol limit', () => {
    const blocks = planBlocks([
      reg({ address: 10, type: 'float32' }),
      reg({ address: 0, type: 'uint32' }),
      reg({ address: 15 }), // gap of 3 after 10..11: read through
      reg({ address: 100 }), // far: own block
      reg({ address: 0, table: 'input', type: 'float64' }),
      reg({ address: 3, table: 'coil' }),
      reg({ address: 0, table: 'coil' }),
    ]);
    expect(blocks.map((b) => [b.table, b.address, b.count, b.registers.map((r) => r.offset)])).toEqual([
      ['holding', 0, 16, [0, 10, 15]],
      ['holding', 100, 1, [0]],
      ['input', 0, 4, [0]],
      ['coil', 0, 4, [0, 3]],
    ]);
    const many = planBlocks(Array.from({ length: 200 }, (_, i) => reg({ address: i })));
    expect(many.map((b) => b.count)).toEqual([125, 75]);
  });
});

describe('decodeRegister', () => {
  const one = (r: Record<string, unknown>, words: number[]) => {
    const [block] = planBlocks([reg(r)]);
    return decodeRegister(block?.registers[0] as NonNullable<typeof block>['registers'][number], raw(words));
  };
  it('float32 and float64 in both word orders', () => {
    expect(one({ address: 0, type: 'float32' }, toWords('float32', 1234.5))).toBe(1234.5);
    expect(one({ address: 0, type: 'float32', wordOrder: 'little' }, toWords('float32', 1234.5, 'little'))).toBe(1234.5);
    expect(one({ address: 0, type: 'float64', wordOrder: 'little' }, toWords('float64', -0.125, 'little'))).toBe(-0.125);
  });
  it('32-bit integers, signed 16-bit, swapped bytes, scale and offset', () => {
    expect(one({ address: 0, type: 'uint32', scale: 0.001 }, toWords('uint32', 4_294_967_295))).toBeCloseTo(4_294_967.295, 6);
    expect(one({ address: 0, type: 'int32', wordOrder: 'little' }, toWords('int32', -100_000, 'little'))).toBe(-100_000);
    expect(one({ address: 0, type: 'int16' }, [0xfff9])).toBe(-7);
    expect(one({ address: 0, byteOrder: 'little' }, [0x3412])).toBe(0x1234);
    expect(one({ address: 0, scale: 0.1, offset: -40 }, [650])).toBeCloseTo(25, 9);
  });
  it('NaN is null (stored as bad quality)', () => {
    expect(one({ address: 0, type: 'float32' }, [0x7fc0, 0])).toBeNull();
  });
});

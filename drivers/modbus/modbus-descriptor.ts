/** The Modbus TCP driver's descriptor (drivers/registry.ts). */
import type { DriverDescriptor } from '../descriptor.ts';
import { seriesMapping, type ConfigPath } from '../series-mapping.ts';
import { modbusSourceSchema, type ModbusRegisterConfig, type ModbusSourceConfig } from './modbus-schema.ts';

type RegisterHolder = Pick<ModbusSourceConfig, 'registers' | 'groups'>;

/** Every register of a modbus source with its path in the config: `registers`, `groups[]`, `devices[]`. */
export function modbusRegisterPaths(s: ModbusSourceConfig): { path: ConfigPath; register: ModbusRegisterConfig }[] {
  const out: { path: ConfigPath; register: ModbusRegisterConfig }[] = [];
  const device = (d: RegisterHolder, base: (string | number)[]): void => {
    d.registers.forEach((r, i) => out.push({ path: [...base, 'registers', i], register: r }));
    d.groups.forEach((g, gi) => g.registers.forEach((r, i) => out.push({ path: [...base, 'groups', gi, 'registers', i], register: r })));
  };
  device(s, []);
  s.devices.forEach((d, i) => device(d, ['devices', i]));
  return out;
}

export const modbusDescriptor: DriverDescriptor<ModbusSourceConfig> = {
  type: 'modbus',
  schema: modbusSourceSchema,
  async create(source) {
    const { ModbusDriver } = await import('./modbus-driver.ts');
    return new ModbusDriver(source);
  },
  mappings(source) {
    return modbusRegisterPaths(source).map(({ path, register: r }) => seriesMapping(r, path, `${r.table} ${r.address}`));
  },
};

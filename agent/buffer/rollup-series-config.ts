/** The per-series settings rollups need, from the agent's config (same reading as the KPI service). */
import type { Config } from '../../config/schema.ts';
import { isCounterSignal } from '../model/index.ts';
import type { RollupSeriesConfig } from './rollups.ts';

export function rollupSeriesFromConfig(config: Config): RollupSeriesConfig {
  const rollover = new Map<string, number>();
  for (const src of config.sources) {
    const tags = src.type === 'opcua' ? src.tags : src.type === 'modbus' && 'registers' in src ? src.registers : [];
    for (const t of tags) {
      // rollover is declared in raw units; the buffer holds scaled values
      if (t.rollover !== undefined && isCounterSignal(t.signal)) rollover.set(`${t.machine}\u0000${t.signal}`, t.rollover * (t.scale ?? 1));
    }
  }
  const machines = new Map(config.machines.map((m) => [m.id, m]));
  return {
    rollover: (machine, signal) => rollover.get(`${machine}\u0000${signal}`) ?? 0,
    maxHoldMs: (machine) => (machines.get(machine)?.maxHoldS ?? 3600) * 1000,
    stateMap: (machine) => machines.get(machine)?.stateMap,
  };
}

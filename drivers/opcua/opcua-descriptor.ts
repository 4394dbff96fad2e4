/** The OPC UA driver's descriptor (drivers/registry.ts). */
import { join } from 'node:path';
import type { DriverDescriptor } from '../descriptor.ts';
import { storedRollover, type SeriesMapping } from '../series-mapping.ts';
import { opcuaSourceSchema, type OpcuaSourceConfig } from './opcua-schema.ts';

export const opcuaDescriptor: DriverDescriptor<OpcuaSourceConfig> = {
  type: 'opcua',
  schema: opcuaSourceSchema,
  async create(source, ctx) {
    const { OpcuaDriver } = await import('./opcua-driver.ts');
    return new OpcuaDriver(source, { applicationName: `shopfloor-agent ${ctx.agentId}`, pkiDir: join(ctx.dataDir, 'pki') });
  },
  mappings(source) {
    return source.tags.map((t, i): SeriesMapping => {
      const scale = t.scale ?? 1;
      return { machine: t.machine, signal: t.signal, scale, rollover: storedRollover(t.rollover, scale), staleAfterS: t.staleAfterS, path: ['tags', i], origin: t.nodeId };
    });
  },
};

/** The OPC UA driver's descriptor (drivers/registry.ts). */
import { join } from 'node:path';
import type { DriverDescriptor } from '../descriptor.ts';
import { seriesMapping } from '../series-mapping.ts';
import { opcuaSourceSchema, type OpcuaSourceConfig } from './opcua-schema.ts';

export const opcuaDescriptor: DriverDescriptor<OpcuaSourceConfig> = {
  type: 'opcua',
  schema: opcuaSourceSchema,
  async create(source, ctx) {
    const { OpcuaDriver } = await import('./opcua-driver.ts');
    return new OpcuaDriver(source, { applicationName: `shopfloor-agent ${ctx.agentId}`, pkiDir: join(ctx.dataDir, 'pki') });
  },
  mappings(source) {
    return source.tags.map((t, i) => seriesMapping(t, ['tags', i], t.nodeId));
  },
};

/**
 * The drivers the agent knows, listed once. The config composes its `sources[]` schema from
 * here, and the Plant asks a source's descriptor for its series; nobody else switches on a
 * source type. A new driver is a folder with its schema and descriptor, and its schema and descriptor
 * named below (zod's union needs the object schemas themselves).
 */
import { z } from 'zod';
import type { DriverDescriptor } from './descriptor.ts';
import { modbusDescriptor } from './modbus/modbus-descriptor.ts';
import { modbusSourceSchema } from './modbus/modbus-schema.ts';
import { mqttDescriptor } from './mqtt/mqtt-descriptor.ts';
import { mqttSourceSchema } from './mqtt/mqtt-schema.ts';
import { opcuaDescriptor } from './opcua/opcua-descriptor.ts';
import { opcuaSourceSchema } from './opcua/opcua-schema.ts';

export const sourceSchema = z.discriminatedUnion('type', [opcuaSourceSchema, mqttSourceSchema, modbusSourceSchema]);
export type SourceConfig = z.output<typeof sourceSchema>;
export type SourceType = SourceConfig['type'];

const DESCRIPTORS: { readonly [T in SourceType]: DriverDescriptor<Extract<SourceConfig, { type: T }>> } = {
  opcua: opcuaDescriptor,
  mqtt: mqttDescriptor,
  modbus: modbusDescriptor,
};

export const SOURCE_TYPES = Object.keys(DESCRIPTORS) as SourceType[];

/** The descriptor of a source's type, typed for that source. */
export function descriptorOf(source: SourceConfig): DriverDescriptor<SourceConfig> {
  return DESCRIPTORS[source.type] as unknown as DriverDescriptor<SourceConfig>;
}

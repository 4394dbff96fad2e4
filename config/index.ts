export { loadConfigFile, loadConfigText, formatProblems, formatPath } from './loader.ts';
export type { ConfigProblem, ConfigResult, LoadConfigOptions } from './loader.ts';
export {
  configSchema,
  sourceSchema,
  opcuaSourceSchema,
  opcuaTagSchema,
  mqttSourceSchema,
  mqttTopicSchema,
  modbusSourceSchema,
  modbusRegisterSchema,
  machineSchema,
  shiftSchema,
  parseByteSize,
} from './schema.ts';
export type {
  Config,
  ConfigInput,
  SourceConfig,
  OpcuaSourceConfig,
  MqttSourceConfig,
  MqttTopicConfig,
  ModbusSourceConfig,
  MachineConfig,
  ShiftConfig,
} from './schema.ts';

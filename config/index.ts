export { loadConfigFile, loadConfigText } from './loader.ts';
export type { ConfigResult, LoadConfigOptions } from './loader.ts';
export { formatProblems, formatPath } from './problem-format.ts';
export type { ConfigProblem } from './problem-format.ts';
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

/**
 * The demo plant (DESIGN.md §6 `simulate`, and `simulator.enabled: true` in a config):
 * two SLS printers and a CNC cell over OPC UA, an assembly cell and MES order events over
 * an embedded MQTT broker, driven by a seeded, deterministic model.
 */
import { PlantSimulator, type SimulatorLogger, type SimulatorOptions } from './simulator.ts';

export {
  PlantSimulator,
  SIMULATOR_DEFAULTS,
  type ExposedReading,
  type GroundTruth,
  type MachineTruth,
  type OrderTruth,
  type ResolvedSimulatorOptions,
  type SimulatorEndpoints,
  type SimulatorLogger,
  type SimulatorOptions,
} from './simulator.ts';
export {
  MACHINE_IDS,
  MACHINE_SPECS,
  PLANT_MODEL_DEFAULTS,
  PlantModel,
  STATE_CODES,
  WH_ROLLOVER,
  exposedEnergy,
  exposedEnergyDeltaKwh,
  isMachineId,
  machineSpec,
  mulberry32,
  type EnergyMeter,
  type MachineId,
  type MachineSnapshot,
  type MachineSpec,
  type Order,
  type OrderEventKind,
  type PlantEvent,
  type PlantModelOptions,
  type StateCause,
} from './plant-model.ts';
export { OpcuaPlantServer, opcuaNodeIds, type NodeOpcuaLog, type OpcuaMachineValues } from './opcua-server.ts';
export { MqttCell, ORDERS_TOPIC, telemetryTopic, type OrderEventPayload, type TelemetryPayload } from './mqtt-cell.ts';

/** config/schema.ts's `simulator` block (enabled is the caller's business). */
export interface SimulatorConfig {
  opcuaPort: number;
  mqttPort: number;
  seed: number;
  speed: number;
}

/**
 * Starts the demo plant for the agent (`simulator.enabled: true`); the result has stop(),
 * so it fits AgentHooks.startSimulator: `(cfg, log) => startPlantSimulator(cfg.simulator, log)`.
 */
export async function startPlantSimulator(config: SimulatorConfig & Partial<SimulatorOptions>, log: SimulatorLogger): Promise<PlantSimulator> {
  const sim = new PlantSimulator(config, log);
  await sim.start();
  return sim;
}

/**
 * `shopfloor-agent simulate`: runs the demo plant until SIGINT or SIGTERM (or `signal` aborts),
 * then stops it cleanly.
 */
export async function runSimulator(opts: SimulatorOptions, log: SimulatorLogger, signal?: AbortSignal): Promise<void> {
  const sim = new PlantSimulator(opts, log);
  const endpoints = await sim.start();
  log.info(
    { opcuaEndpoint: endpoints.opcuaEndpoint, mqttUrl: endpoints.mqttUrl },
    'demo plant running: OPC UA nodes under Objects/Plant, MQTT topics plant/+/telemetry and mes/orders; Ctrl-C stops it',
  );
  const reason = await new Promise<string>((resolve) => {
    const done = (why: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const onAbort = (): void => done('aborted');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) done('aborted');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  log.info({ reason }, 'demo plant stopping');
  await sim.stop();
}

/**
 * The demo plant (DESIGN.md §6 `simulate`, and `simulator.enabled: true` in a config):
 * two SLS printers and a CNC cell over OPC UA, an assembly cell and MES order events over
 * an embedded MQTT broker, driven by a seeded, deterministic model.
 */
import { PlantSimulator } from './simulator.ts';
import type { SimulatorLogger, SimulatorOptions } from './simulator-options.ts';

export { PlantSimulator, type SimulatorEndpoints } from './simulator.ts';
export { SIMULATOR_DEFAULTS, type ResolvedSimulatorOptions, type SimulatorLogger, type SimulatorOptions } from './simulator-options.ts';
export { type ExposedReading, type GroundTruth, type MachineTruth, type OrderTruth } from './ground-truth.ts';
export { PLANT_MODEL_DEFAULTS, PlantModel, type PlantModelOptions } from './plant-model.ts';
export {
  MACHINE_IDS,
  MACHINE_SPECS,
  STATE_CODES,
  isMachineId,
  machineSpec,
  type MachineId,
  type MachineSpec,
} from './machine-specs.ts';
export { WH_ROLLOVER, exposedEnergy, exposedEnergyDeltaKwh, type EnergyMeter } from './energy-meter.ts';
export { mulberry32 } from './seeded-random.ts';
export { type MachineSnapshot, type Order, type OrderEventKind, type PlantEvent, type StateCause } from './plant-events.ts';
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

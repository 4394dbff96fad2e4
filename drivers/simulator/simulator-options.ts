/** The demo plant's options, every default in one object, and how a caller's options are resolved. */
import type { DriverLogger } from '../driver.ts';
import type { NodeOpcuaLog } from './opcua-server.ts';
import type { MachineId } from './machine-specs.ts';

/** pino-compatible: the simulator logs through whatever the caller passes. */
export type SimulatorLogger = Pick<DriverLogger, 'info' | 'warn' | 'error'>;

export interface SimulatorOptions {
  /** PRNG seed: the same seed gives the same machine behaviour */
  seed?: number;
  /** simulated seconds per real second */
  speed?: number;
  /** 0 picks a free port; start() reports the actual one */
  opcuaPort?: number;
  mqttPort?: number;
  /** interface both servers listen on (and the OPC UA endpoint's hostname) */
  host?: string;
  /** start advancing the model as soon as the servers are up; false: call resume() */
  autoStart?: boolean;
  /** the OPC UA PKI folder (server certificate). Default: a folder under the OS temp dir (see README) */
  pkiDir?: string;
  /** real milliseconds between two model ticks */
  tickMs?: number;
  /** the assembly cell reports energy at least every this many simulated seconds */
  telemetryPeriodS?: number;
  /** stop() gives up waiting for the servers after this long */
  stopTimeoutMs?: number;
  nodeOpcuaLog?: NodeOpcuaLog;
  /** override meter readings at time 0 (tests: put the Wh register just below its wrap) */
  initialEnergyWh?: Partial<Record<MachineId, number>>;
  /** no faults or waits during the first simulated seconds (default 300) */
  warmUpS?: number;
  /** the OPC UA server's NodeSet2 files; default: node-opcua's standard nodeset beside its package */
  nodesetFiles?: string[];
}

export type ResolvedSimulatorOptions = Required<Omit<SimulatorOptions, 'pkiDir' | 'initialEnergyWh' | 'nodesetFiles'>> & Pick<SimulatorOptions, 'pkiDir' | 'initialEnergyWh' | 'nodesetFiles'>;

/** Every default in one place (config/schema.ts's simulator block uses the same ports and seed). */
export const SIMULATOR_DEFAULTS: Readonly<Required<Omit<SimulatorOptions, 'pkiDir' | 'initialEnergyWh' | 'nodesetFiles'>>> = {
  seed: 42,
  speed: 1,
  opcuaPort: 48401,
  mqttPort: 18831,
  host: '127.0.0.1',
  autoStart: true,
  tickMs: 100,
  telemetryPeriodS: 5,
  stopTimeoutMs: 5000,
  nodeOpcuaLog: 'errors-only',
  warmUpS: 300,
};

/** The options with their defaults; a speed, seed, tick or telemetry period that cannot work is a RangeError. */
export function resolveSimulatorOptions(options: SimulatorOptions): ResolvedSimulatorOptions {
  const o: ResolvedSimulatorOptions = { ...SIMULATOR_DEFAULTS, ...pickOptions(options) };
  if (!Number.isFinite(o.speed) || o.speed <= 0) throw new RangeError(`speed must be > 0 (got ${o.speed})`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer (got ${o.seed})`);
  if (!(o.tickMs > 0)) throw new RangeError(`tickMs must be > 0 (got ${o.tickMs})`);
  if (!Number.isInteger(o.telemetryPeriodS) || o.telemetryPeriodS < 1) throw new RangeError(`telemetryPeriodS must be a whole number ≥ 1 (got ${o.telemetryPeriodS})`);
  return o;
}

const OPTION_KEYS: readonly (keyof SimulatorOptions)[] = [
  'seed', 'speed', 'opcuaPort', 'mqttPort', 'host', 'autoStart', 'pkiDir', 'tickMs',
  'telemetryPeriodS', 'stopTimeoutMs', 'nodeOpcuaLog', 'initialEnergyWh', 'warmUpS', 'nodesetFiles',
];

/** the known options that are set (a config block may carry more, e.g. `enabled`) */
function pickOptions(o: SimulatorOptions): Partial<SimulatorOptions> {
  return Object.fromEntries(OPTION_KEYS.flatMap((k) => (o[k] === undefined ? [] : [[k, o[k]]]))) as Partial<SimulatorOptions>;
}

export const SILENT_LOGGER: SimulatorLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

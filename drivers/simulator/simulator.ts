/**
 * The demo plant: the pure plant model driven in real time (speed × simulated seconds per real
 * second), exposed over OPC UA (printers, CNC cell) and an embedded MQTT broker (assembly cell,
 * MES order events), and the ground truth a test compares the agent's KPIs with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMachineState } from '../../agent/model/index.ts';
import type { DriverLogger } from '../driver.ts';
import {
  exposedEnergy,
  exposedEnergyDeltaKwh,
  MACHINE_IDS,
  MACHINE_SPECS,
  PlantModel,
  isMachineId,
  type MachineId,
  type MachineSnapshot,
  type MachineSpec,
  type MachineState,
  type Order,
  type OrderEventKind,
  type PlantEvent,
} from './plant-model.ts';
import { OpcuaPlantServer, type NodeOpcuaLog, type OpcuaMachineValues } from './opcua-server.ts';
import { MqttCell, ORDERS_TOPIC, telemetryTopic, type TelemetryPayload } from './mqtt-cell.ts';

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
}

export type ResolvedSimulatorOptions = Required<Omit<SimulatorOptions, 'pkiDir' | 'initialEnergyWh'>> & Pick<SimulatorOptions, 'pkiDir' | 'initialEnergyWh'>;

/** Every default in one place (config/schema.ts's simulator block uses the same ports and seed). */
export const SIMULATOR_DEFAULTS: Readonly<Required<Omit<SimulatorOptions, 'pkiDir' | 'initialEnergyWh'>>> = {
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

const OPCUA_SPECS: readonly MachineSpec[] = MACHINE_SPECS.filter((s) => s.protocol === 'opcua');
const MQTT_SPECS: readonly MachineSpec[] = MACHINE_SPECS.filter((s) => s.protocol === 'mqtt');

/** After an event-loop stall, at most this much real time is caught up in one tick. */
const MAX_CATCH_UP_MS = 5000;

export interface SimulatorEndpoints {
  opcuaPort: number;
  mqttPort: number;
  opcuaEndpoint: string;
  mqttUrl: string;
  /** how long start() took, milliseconds */
  startMs: number;
}

/** What a machine exposes, as a consumer sees it (energy in the node's / payload's unit). */
export interface ExposedReading {
  /** kWh (printers, assembly) or the wrapped UInt32 Wh register (cnc-1) */
  energy: number;
  partsTotal: number;
  partsScrap: number;
  state: MachineState;
  orderId: string;
  /** epoch ms of the step that produced it */
  ts: number;
}

export interface MachineTruth {
  machine: MachineId;
  /** last exposed energy − first exposed energy (the Wh register's wrap handled), kWh */
  energyKwh: number;
  unitsTotal: number;
  unitsGood: number;
  unitsScrap: number;
  /** simulated seconds per state since the baseline */
  stateS: Record<MachineState, number>;
  first: ExposedReading;
  last: ExposedReading;
}

export interface OrderTruth {
  orderId: string;
  machine: MachineId;
  product: string;
  quantity: number;
  /** ISO 8601, as published on mes/orders */
  releasedAt?: string;
  startedAt?: string;
  completedAt?: string;
  /** completed − released in real seconds, when both are known */
  leadTimeS?: number;
}

export interface GroundTruth {
  /** ISO 8601: when the baseline was taken (start()) and the last exposed change */
  from: string;
  to: string;
  speed: number;
  /** simulated seconds since the baseline */
  simulatedS: number;
  machines: Record<MachineId, MachineTruth>;
  orders: OrderTruth[];
}

type Phase = 'stopped' | 'starting' | 'started' | 'stopping';

interface Baseline {
  at: number;
  simTimeS: number;
  stateS: Map<MachineId, Record<MachineState, number>>;
}

export class PlantSimulator {
  readonly options: Readonly<ResolvedSimulatorOptions>;
  private readonly model: PlantModel;
  private readonly log: SimulatorLogger;
  private readonly msPerStep: number;
  private phase: Phase = 'stopped';
  private opcua: OpcuaPlantServer | undefined;
  private mqtt: MqttCell | undefined;
  private endpoints: SimulatorEndpoints | undefined;
  private tempPkiDir: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;
  private carry = 0;
  private lastTs = 0;
  private tickFailed = false;
  private publishFailed = false;
  private baseline: Baseline | undefined;
  private readonly first = new Map<MachineId, ExposedReading>();
  private readonly last = new Map<MachineId, ExposedReading>();
  private readonly orders = new Map<string, OrderTruth>();
  private lastTelemetryEnergy = new Map<MachineId, number>();

  constructor(options: SimulatorOptions = {}, log: SimulatorLogger = SILENT) {
    const o: ResolvedSimulatorOptions = { ...SIMULATOR_DEFAULTS, ...pickOptions(options) };
    if (!Number.isFinite(o.speed) || o.speed <= 0) throw new RangeError(`speed must be > 0 (got ${o.speed})`);
    if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer (got ${o.seed})`);
    if (!(o.tickMs > 0)) throw new RangeError(`tickMs must be > 0 (got ${o.tickMs})`);
    if (!Number.isInteger(o.telemetryPeriodS) || o.telemetryPeriodS < 1) throw new RangeError(`telemetryPeriodS must be a whole number ≥ 1 (got ${o.telemetryPeriodS})`);
    this.options = o;
    this.log = log;
    this.msPerStep = 1000 / o.speed;
    this.model = new PlantModel({ seed: o.seed, warmUpS: o.warmUpS, ...(o.initialEnergyWh ? { initialEnergyWh: o.initialEnergyWh } : {}) });
  }

  /** true while the model advances in real time */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** simulated seconds since the model began */
  get simTimeS(): number {
    return this.model.simTimeS;
  }

  /** what the model holds now (not necessarily published yet for the MQTT cell) */
  snapshot(machine: MachineId): MachineSnapshot {
    return this.model.snapshot(machine);
  }

  /**
   * Brings up the OPC UA server and the MQTT broker, takes the ground-truth baseline, and
   * (unless autoStart is false) starts advancing the model.
   */
  async start(): Promise<SimulatorEndpoints> {
    if (this.phase !== 'stopped') throw new Error(`the simulator is ${this.phase}`);
    this.phase = 'starting';
    const t0 = performance.now();
    const o = this.options;
    try {
      const pkiDir = o.pkiDir ?? (o.opcuaPort === 0 ? (this.tempPkiDir = await mkdtemp(join(tmpdir(), 'shopfloor-sim-pki-'))) : join(tmpdir(), 'shopfloor-agent-sim', `pki-${o.opcuaPort}`));
      const readAt = new Date(this.nextTs(Date.now()));
      this.opcua = new OpcuaPlantServer({ port: o.opcuaPort, host: o.host, pkiDir, machines: OPCUA_SPECS, nodeOpcuaLog: o.nodeOpcuaLog });
      this.mqtt = new MqttCell({
        port: o.mqttPort,
        host: o.host,
        onPublishError: (err, topic) => {
          if (this.publishFailed) return;
          this.publishFailed = true;
          this.log.warn({ err, topic }, 'demo plant: an MQTT publish failed (logged once)');
        },
      });
      const initial = new Map(OPCUA_SPECS.map((s) => [s.id, opcuaValues(s, this.model.snapshot(s.id))] as const));
      const [ua, mq] = await Promise.all([this.opcua.start(initial, readAt), this.mqtt.start()]);
      this.takeBaseline(this.nextTs(Date.now()));
      this.endpoints = { opcuaPort: ua.port, mqttPort: mq.port, opcuaEndpoint: ua.endpoint, mqttUrl: mq.url, startMs: Math.round(performance.now() - t0) };
      this.phase = 'started';
    } catch (err) {
      this.phase = 'started';
      await this.stop();
      throw err;
    }
    this.log.info({ ...this.endpoints, seed: o.seed, speed: o.speed }, 'demo plant started');
    if (o.autoStart) this.resume();
    return this.endpoints;
  }

  /** Advance the model in real time (no-op when already running or not started). */
  resume(): void {
    if (this.phase !== 'started' || this.timer) return;
    this.lastTickAt = performance.now();
    this.carry = 0;
    // a consumer that connected since the last report gets the current values right away
    for (const spec of MQTT_SPECS) this.publishTelemetry(spec, this.nextTs(Date.now()));
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
  }

  /** Stop advancing the model; the servers keep serving the last values. */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // publish the energy accumulated since the last periodic report, so exposed = model
    if (this.phase !== 'started') return;
    const ts = this.nextTs(Date.now());
    for (const spec of MQTT_SPECS) {
      if (this.lastTelemetryEnergy.get(spec.id) !== this.model.snapshot(spec.id).energyWh) this.publishTelemetry(spec, ts);
    }
  }

  /**
   * Force a machine's state now (dashboards, tests). A non-running state holds for `holdS`
   * simulated seconds, or until forced back to 'running' when `holdS` is omitted.
   */
  setState(machine: MachineId, state: MachineState, holdS?: number): void {
    if (!isMachineId(machine)) throw new RangeError(`unknown machine "${String(machine)}"`);
    if (!isMachineState(state)) throw new RangeError(`unknown state "${String(state)}" (running, idle, down, planned_stop)`);
    const events = this.model.forceState(machine, state, holdS);
    this.expose(events, this.nextTs(Date.now()));
  }

  /** Advance `n` simulated seconds now, synchronously (tests). Time stamps are the current wall clock. */
  step(n = 1): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`step(n) needs a whole number ≥ 0 (got ${n})`);
    this.advance(n, Date.now());
  }

  /** Totals since start(): computed from the values exposed to consumers (see README). */
  groundTruth(): GroundTruth {
    const base = this.baseline;
    const machines = {} as Record<MachineId, MachineTruth>;
    let to = base?.at ?? 0;
    for (const spec of MACHINE_SPECS) {
      const first = this.first.get(spec.id) ?? this.reading(spec, this.model.snapshot(spec.id), 0);
      const last = this.last.get(spec.id) ?? first;
      to = Math.max(to, last.ts);
      const unitsTotal = last.partsTotal - first.partsTotal;
      const unitsScrap = last.partsScrap - first.partsScrap;
      const nowS = this.model.stateSeconds(spec.id);
      const baseS = base?.stateS.get(spec.id);
      machines[spec.id] = {
        machine: spec.id,
        energyKwh: exposedEnergyDeltaKwh(spec.energyMeter, first.energy, last.energy),
        unitsTotal,
        unitsGood: unitsTotal - unitsScrap,
        unitsScrap,
        stateS: {
          running: nowS.running - (baseS?.running ?? nowS.running),
          idle: nowS.idle - (baseS?.idle ?? nowS.idle),
          down: nowS.down - (baseS?.down ?? nowS.down),
          planned_stop: nowS.planned_stop - (baseS?.planned_stop ?? nowS.planned_stop),
        },
        first: { ...first },
        last: { ...last },
      };
    }
    return {
      from: new Date(base?.at ?? 0).toISOString(),
      to: new Date(to).toISOString(),
      speed: this.options.speed,
      simulatedS: base ? this.model.simTimeS - base.simTimeS : 0,
      machines,
      orders: [...this.orders.values()].map((x) => ({ ...x })),
    };
  }

  /** Closes both servers (within stopTimeoutMs); the model keeps its state, start() may follow. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.phase = 'stopping';
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const opcua = this.opcua;
    const mqtt = this.mqtt;
    this.opcua = undefined;
    this.mqtt = undefined;
    const closing = Promise.allSettled([opcua?.stop(), mqtt?.stop()]).then((results) => {
      for (const r of results) if (r.status === 'rejected') this.log.warn({ err: r.reason as unknown }, 'demo plant: a server did not close cleanly');
    });
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), this.options.stopTimeoutMs);
    });
    const outcome = await Promise.race([closing.then(() => 'closed' as const), timedOut]);
    clearTimeout(timeout);
    if (outcome === 'timeout') this.log.warn({ timeoutMs: this.options.stopTimeoutMs }, 'demo plant: servers did not close in time');
    if (this.tempPkiDir) {
      await rm(this.tempPkiDir, { recursive: true, force: true }).catch(() => undefined);
      this.tempPkiDir = undefined;
    }
    this.phase = 'stopped';
    if (this.endpoints) this.log.info({}, 'demo plant stopped');
    this.endpoints = undefined;
  }

  private tick(): void {
    const now = performance.now();
    const elapsed = Math.min(now - this.lastTickAt, MAX_CATCH_UP_MS);
    this.lastTickAt = now;
    this.carry += (elapsed * this.options.speed) / 1000;
    const n = Math.floor(this.carry);
    this.carry -= n;
    if (n === 0) return;
    try {
      this.advance(n, Date.now());
      this.tickFailed = false;
    } catch (err) {
      if (!this.tickFailed) this.log.error({ err }, 'demo plant: a simulation step failed; retrying next tick');
      this.tickFailed = true;
    }
  }

  /** n steps ending now; step i is stamped as if the steps had been spread over real time */
  private advance(n: number, endTs: number): void {
    for (let i = 0; i < n; i++) {
      const ts = this.nextTs(endTs - (n - 1 - i) * this.msPerStep);
      this.expose(this.model.step(), ts);
    }
  }

  /** Push what changed to the servers, and record it as exposed. */
  private expose(events: readonly PlantEvent[], ts: number): void {
    if (this.phase !== 'started') return;
    const date = new Date(ts);
    const opcua = this.opcua;
    for (const spec of OPCUA_SPECS) {
      const snap = this.model.snapshot(spec.id);
      opcua?.update(spec.id, opcuaValues(spec, snap), date);
      this.last.set(spec.id, this.reading(spec, snap, ts));
    }
    const periodic = this.model.simTimeS % this.options.telemetryPeriodS === 0;
    for (const spec of MQTT_SPECS) {
      if (periodic || events.some((e) => e.machine === spec.id)) this.publishTelemetry(spec, ts);
    }
    for (const e of events) if (e.type === 'order') this.publishOrder(e.order, e.event, ts);
  }

  private publishTelemetry(spec: MachineSpec, ts: number): void {
    if (this.phase !== 'started' || !this.mqtt) return;
    const snap = this.model.snapshot(spec.id);
    const reading = this.reading(spec, snap, ts);
    const payload: TelemetryPayload = {
      ts,
      energy: { kwh: reading.energy },
      count: { total: snap.partsTotal, scrap: snap.partsScrap },
      state: snap.state,
      order: snap.orderId,
    };
    this.mqtt.publish(telemetryTopic(spec.id), payload);
    this.lastTelemetryEnergy.set(spec.id, snap.energyWh);
    this.last.set(spec.id, reading);
  }

  private publishOrder(order: Order, event: OrderEventKind, ts: number): void {
    const iso = new Date(ts).toISOString();
    this.mqtt?.publish(ORDERS_TOPIC, { orderId: order.orderId, event, ts: iso, product: order.product, quantity: order.quantity, machine: order.machine });
    const row = this.orders.get(order.orderId) ?? { orderId: order.orderId, machine: order.machine, product: order.product, quantity: order.quantity };
    if (event === 'released') row.releasedAt = iso;
    else if (event === 'started') row.startedAt = iso;
    else {
      row.completedAt = iso;
      if (row.releasedAt) row.leadTimeS = (ts - Date.parse(row.releasedAt)) / 1000;
    }
    this.orders.set(order.orderId, row);
  }

  private takeBaseline(at: number): void {
    this.first.clear();
    this.last.clear();
    this.orders.clear();
    this.lastTelemetryEnergy.clear();
    for (const spec of MACHINE_SPECS) {
      const r = this.reading(spec, this.model.snapshot(spec.id), at);
      this.first.set(spec.id, r);
      this.last.set(spec.id, r);
    }
    this.baseline = {
      at,
      simTimeS: this.model.simTimeS,
      stateS: new Map(MACHINE_IDS.map((id) => [id, this.model.stateSeconds(id)] as const)),
    };
  }

  private reading(spec: MachineSpec, snap: MachineSnapshot, ts: number): ExposedReading {
    return {
      energy: exposedEnergy(spec.energyMeter, snap.energyWh),
      partsTotal: snap.partsTotal,
      partsScrap: snap.partsScrap,
      state: snap.state,
      orderId: snap.orderId,
      ts,
    };
  }

  /** wall-clock stamps never go backwards, whatever the system clock does */
  private nextTs(ts: number): number {
    this.lastTs = Math.max(this.lastTs, Math.round(ts));
    return this.lastTs;
  }
}

function opcuaValues(spec: MachineSpec, snap: MachineSnapshot): OpcuaMachineValues {
  return {
    energy: exposedEnergy(spec.energyMeter, snap.energyWh),
    partsTotal: snap.partsTotal,
    partsScrap: snap.partsScrap,
    stateCode: snap.stateCode,
    orderId: snap.orderId,
  };
}


const OPTION_KEYS: readonly (keyof SimulatorOptions)[] = [
  'seed', 'speed', 'opcuaPort', 'mqttPort', 'host', 'autoStart', 'pkiDir', 'tickMs',
  'telemetryPeriodS', 'stopTimeoutMs', 'nodeOpcuaLog', 'initialEnergyWh', 'warmUpS',
];

/** the known options that are set (a config block may carry more, e.g. `enabled`) */
function pickOptions(o: SimulatorOptions): Partial<SimulatorOptions> {
  return Object.fromEntries(OPTION_KEYS.flatMap((k) => (o[k] === undefined ? [] : [[k, o[k]]]))) as Partial<SimulatorOptions>;
}

const SILENT: SimulatorLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

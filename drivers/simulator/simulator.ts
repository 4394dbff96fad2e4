/**
 * The demo plant: the pure plant model driven in real time (speed × simulated seconds per real
 * second), exposed over OPC UA (printers, CNC cell) and an embedded MQTT broker (assembly cell,
 * MES order events), and the ground truth a test compares the agent's KPIs with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMachineState, type MachineState } from '../../agent/model/index.ts';
import { exposedEnergy } from './energy-meter.ts';
import { MACHINE_SPECS, isMachineId, type MachineId, type MachineSpec } from './machine-specs.ts';
import type { MachineSnapshot, Order, OrderEventKind, PlantEvent } from './plant-events.ts';
import { PlantModel } from './plant-model.ts';
import { exposedReading, GroundTruthLedger, type GroundTruth } from './ground-truth.ts';
import { resolveSimulatorOptions, SILENT_LOGGER, type ResolvedSimulatorOptions, type SimulatorLogger, type SimulatorOptions } from './simulator-options.ts';
import { OpcuaPlantServer, type OpcuaMachineValues } from './opcua-server.ts';
import { MqttCell, ORDERS_TOPIC, telemetryTopic, type TelemetryPayload } from './mqtt-cell.ts';

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

type Phase = 'stopped' | 'starting' | 'started' | 'stopping';

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
  private readonly truth: GroundTruthLedger;
  private lastTelemetryEnergy = new Map<MachineId, number>();

  constructor(options: SimulatorOptions = {}, log: SimulatorLogger = SILENT_LOGGER) {
    const o = resolveSimulatorOptions(options);
    this.options = o;
    this.log = log;
    this.msPerStep = 1000 / o.speed;
    this.model = new PlantModel({ seed: o.seed, warmUpS: o.warmUpS, ...(o.initialEnergyWh ? { initialEnergyWh: o.initialEnergyWh } : {}) });
    this.truth = new GroundTruthLedger(this.model);
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
      this.opcua = new OpcuaPlantServer({ port: o.opcuaPort, host: o.host, pkiDir, machines: OPCUA_SPECS, nodeOpcuaLog: o.nodeOpcuaLog, nodesetFiles: o.nodesetFiles });
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
    return this.truth.groundTruth(this.options.speed);
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
      this.truth.record(spec.id, exposedReading(spec, snap, ts));
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
    const reading = exposedReading(spec, snap, ts);
    const payload: TelemetryPayload = {
      ts,
      energy: { kwh: reading.energy },
      count: { total: snap.partsTotal, scrap: snap.partsScrap },
      state: snap.state,
      order: snap.orderId,
    };
    this.mqtt.publish(telemetryTopic(spec.id), payload);
    this.lastTelemetryEnergy.set(spec.id, snap.energyWh);
    this.truth.record(spec.id, reading);
  }

  private publishOrder(order: Order, event: OrderEventKind, ts: number): void {
    const iso = new Date(ts).toISOString();
    this.mqtt?.publish(ORDERS_TOPIC, { orderId: order.orderId, event, ts: iso, product: order.product, quantity: order.quantity, machine: order.machine });
    this.truth.order(order, event, ts);
  }

  private takeBaseline(at: number): void {
    this.lastTelemetryEnergy.clear();
    this.truth.takeBaseline(at);
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

/**
 * The demo plant end to end on port 0: an OPC UA client reads and monitors the nodes, an mqtt.js
 * client receives telemetry and order events at QoS 1, and the ground truth equals what they saw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import {
  AttributeIds,
  ClientMonitoredItem,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  type ClientSession,
  type DataValue,
} from 'node-opcua';
import {
  MACHINE_SPECS,
  PlantSimulator,
  WH_ROLLOVER,
  exposedEnergyDeltaKwh,
  opcuaNodeIds,
  runSimulator,
  type MachineId,
  type OrderEventPayload,
  type SimulatorEndpoints,
  type TelemetryPayload,
} from './index.ts';

const OPCUA_MACHINES = MACHINE_SPECS.filter((s) => s.protocol === 'opcua');

interface Received {
  topic: string;
  qos: number;
  retain: boolean;
  body: unknown;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('PlantSimulator over OPC UA and MQTT', () => {
  let dir: string;
  let sim: PlantSimulator;
  let ep: SimulatorEndpoints;
  let client: OPCUAClient;
  let session: ClientSession;
  let broker: MqttClient;
  const messages: Received[] = [];

  const telemetry = (): TelemetryPayload[] => messages.filter((m) => m.topic === 'plant/assembly-1/telemetry').map((m) => m.body as TelemetryPayload);
  const orderEvents = (): OrderEventPayload[] => messages.filter((m) => m.topic === 'mes/orders').map((m) => m.body as OrderEventPayload);

  async function readMachine(id: MachineId): Promise<DataValue[]> {
    const spec = MACHINE_SPECS.find((s) => s.id === id);
    if (!spec) throw new Error(id);
    const ids = opcuaNodeIds(id, spec.energyMeter);
    return session.read([ids.energy, ids.partsTotal, ids.partsScrap, ids.stateCode, ids.orderId].map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value })));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-test-'));
    // the CNC meter starts 30 Wh below its wrap, so the ground truth must handle the wrap here
    sim = new PlantSimulator({ seed: 42, speed: 100, opcuaPort: 0, mqttPort: 0, autoStart: false, pkiDir: join(dir, 'pki'), initialEnergyWh: { 'cnc-1': WH_ROLLOVER - 30 } });
    ep = await sim.start();
    expect(ep.opcuaPort).toBeGreaterThan(0);
    expect(ep.mqttPort).toBeGreaterThan(0);
    expect(ep.opcuaEndpoint).toBe(`opc.tcp://127.0.0.1:${ep.opcuaPort}`);

    client = OPCUAClient.create({
      endpointMustExist: false,
      securityMode: MessageSecurityMode.None,
      securityPolicy: SecurityPolicy.None,
      connectionStrategy: { maxRetry: 0 },
      clientCertificateManager: new OPCUACertificateManager({ rootFolder: join(dir, 'client-pki'), automaticallyAcceptUnknownCertificate: true }),
    });
    await client.connect(ep.opcuaEndpoint);
    session = await client.createSession();

    broker = await mqtt.connectAsync(`mqtt://127.0.0.1:${ep.mqttPort}`, { clientId: 'sim-test', clean: true, reconnectPeriod: 0 });
    broker.on('message', (topic, payload, packet) => {
      messages.push({ topic, qos: packet.qos, retain: packet.retain, body: JSON.parse(payload.toString()) as unknown });
    });
    await broker.subscribeAsync(['plant/+/telemetry', 'mes/orders'], { qos: 1 });
  });

  afterAll(async () => {
    await session?.close().catch(() => undefined);
    await client?.disconnect().catch(() => undefined);
    await broker?.endAsync().catch(() => undefined);
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('organises the machines under Objects/Plant with readable browse names', async () => {
    const plant = await session.browse('ns=1;s=Plant');
    expect((plant.references ?? []).map((r) => r.browseName.name).sort()).toEqual(['cnc-1', 'printer-1', 'printer-2']);
    const objects = await session.browse('i=85');
    expect((objects.references ?? []).some((r) => r.browseName.name === 'Plant' && r.nodeId.toString() === 'ns=1;s=Plant')).toBe(true);
    const cnc = await session.browse('ns=1;s=cnc-1');
    expect((cnc.references ?? []).filter((r) => r.nodeId.namespace === 1).map((r) => r.nodeId.toString()).sort()).toEqual(
      ['ns=1;s=cnc-1.energy_wh', 'ns=1;s=cnc-1.order_id', 'ns=1;s=cnc-1.parts_scrap', 'ns=1;s=cnc-1.parts_total', 'ns=1;s=cnc-1.state'],
    );
  });

  it('serves every node of demo.yaml with its data type, equal to the ground truth', async () => {
    const truth = sim.groundTruth();
    for (const spec of OPCUA_MACHINES) {
      const [energy, total, scrap, state, order] = await readMachine(spec.id);
      expect(energy?.value.dataType).toBe(spec.energyMeter === 'wh-uint32' ? DataType.UInt32 : DataType.Double);
      expect(total?.value.dataType).toBe(DataType.UInt32);
      expect(scrap?.value.dataType).toBe(DataType.UInt32);
      expect(state?.value.dataType).toBe(DataType.Int32);
      expect(order?.value.dataType).toBe(DataType.String);
      const first = truth.machines[spec.id].first;
      expect(energy?.value.value).toBe(first.energy);
      expect(total?.value.value).toBe(first.partsTotal);
      expect(scrap?.value.value).toBe(first.partsScrap);
      expect(state?.value.value).toBe(1);
      expect(order?.value.value).toMatch(/^ORD-10\d\d$/);
    }
    const readEnergy = (await readMachine('cnc-1'))[0]?.value.value as number;
    expect(readEnergy).toBe(WH_ROLLOVER - 30);
  });

  it('updates the nodes as the model steps, with the step time as source timestamp; ground truth = exposed deltas (Wh wrap included)', async () => {
    const before = new Map<MachineId, DataValue[]>();
    for (const spec of OPCUA_MACHINES) before.set(spec.id, await readMachine(spec.id));

    // a monitored item sees the change too (the agent subscribes)
    const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedMaxKeepAliveCount: 10, publishingEnabled: true });
    const item = ClientMonitoredItem.create(sub, { nodeId: 'ns=1;s=printer-1.parts_total', attributeId: AttributeIds.Value }, { samplingInterval: 0, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both);
    const seen: number[] = [];
    item.on('changed', (dv: DataValue) => seen.push(dv.value.value as number));
    await until(() => seen.length >= 1, 'the initial notification');

    const t0 = Date.now();
    sim.step(600);
    const t1 = Date.now();
    const truth = sim.groundTruth();
    // the subscription reports the changes (queued, the last one included)
    await until(() => seen.at(-1) === truth.machines['printer-1'].last.partsTotal, 'the last change notification');
    await sub.terminate();

    for (const spec of OPCUA_MACHINES) {
      const b = before.get(spec.id) ?? [];
      const a = await readMachine(spec.id);
      const m = truth.machines[spec.id];
      const [e0, e1] = [b[0]?.value.value as number, a[0]?.value.value as number];
      expect(m.energyKwh).toBe(exposedEnergyDeltaKwh(spec.energyMeter, e0, e1));
      expect(m.energyKwh).toBeGreaterThan(0.3);
      expect(m.unitsTotal).toBe((a[1]?.value.value as number) - (b[1]?.value.value as number));
      expect(m.unitsScrap).toBe((a[2]?.value.value as number) - (b[2]?.value.value as number));
      expect(m.unitsGood).toBe(m.unitsTotal - m.unitsScrap);
      expect(m.unitsGood).toBeGreaterThan(0);
      expect(m.last.partsTotal).toBe(a[1]?.value.value);
      // steps run by step(n) are stamped as if spread over real time at `speed` (10 ms apart here)
      const ts = a[0]?.sourceTimestamp?.getTime() ?? 0;
      expect(ts).toBeGreaterThanOrEqual(t0 - 600 * 10 - 1);
      expect(ts).toBeLessThanOrEqual(t1 + 1);
      expect(m.last.ts).toBeGreaterThanOrEqual(t0);
      expect(m.last.ts).toBeLessThanOrEqual(t1);
    }
    // the CNC register wrapped: the raw value dropped, the ground truth stayed positive
    const cnc = truth.machines['cnc-1'];
    expect(cnc.last.energy).toBeLessThan(cnc.first.energy);
    expect(cnc.energyKwh).toBeCloseTo((cnc.last.energy + WH_ROLLOVER - cnc.first.energy) / 1000, 9);
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it('publishes assembly telemetry and order events at QoS 1, not retained, matching the ground truth', async () => {
    // the order events of the first step were published during the previous test
    const from = telemetry().length;
    sim.resume(); // publishes the current values right away
    sim.pause();
    await until(() => telemetry().length > from, 'the resume snapshot');
    const first = telemetry()[from] as TelemetryPayload;
    const base = sim.groundTruth().machines['assembly-1'];

    sim.step(400);
    sim.pause(); // publishes the energy accumulated since the last periodic report
    const truth = sim.groundTruth();
    expect(truth.machines['assembly-1'].last.energy).toBe(sim.snapshot('assembly-1').energyWh / 1000);
    const a = truth.machines['assembly-1'];
    await until(() => telemetry().at(-1)?.ts === a.last.ts && telemetry().at(-1)?.count.total === a.last.partsTotal, 'the last telemetry');

    for (const m of messages) {
      expect(m.qos).toBe(1);
      expect(m.retain).toBe(false);
    }
    const t = telemetry().slice(from);
    // periodic energy reports every 5 simulated seconds at least, plus one per part
    expect(t.length).toBeGreaterThanOrEqual(400 / 5);
    for (const p of t) {
      expect(Object.keys(p).sort()).toEqual(['count', 'energy', 'order', 'state', 'ts']);
      expect(typeof p.ts).toBe('number');
      expect(typeof p.energy.kwh).toBe('number');
      expect(Number.isInteger(p.count.total) && Number.isInteger(p.count.scrap)).toBe(true);
      expect(['running', 'idle', 'down', 'planned_stop']).toContain(p.state);
      expect(p.order).toMatch(/^ORD-\d+$/);
    }
    const last = t.at(-1) as TelemetryPayload;
    expect(a.energyKwh).toBe(last.energy.kwh - base.first.energy);
    expect(a.unitsTotal).toBe(last.count.total - base.first.partsTotal);
    expect(a.unitsScrap).toBe(last.count.scrap - base.first.partsScrap);
    expect(first.count.total).toBe(base.last.partsTotal);
    expect(a.unitsTotal).toBeGreaterThan(15);

    // order events: the first orders of all four machines were released and started on the first step
    const ev = orderEvents();
    for (const e of ev) {
      expect(Object.keys(e)).toEqual(expect.arrayContaining(['orderId', 'event', 'ts', 'product', 'quantity']));
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
      expect(e.quantity).toBeGreaterThan(0);
    }
    const started = ev.filter((e) => e.event === 'started');
    expect(started.map((e) => e.machine).sort()).toEqual(['assembly-1', 'cnc-1', 'printer-1', 'printer-2']);
    expect(started.map((e) => e.product).sort()).toEqual(['bracket-a', 'bracket-a', 'housing-b', 'housing-b']);
    expect(ev.filter((e) => e.event === 'released').length).toBe(8);
    for (const o of truth.orders.filter((x) => x.startedAt)) {
      expect(ev).toContainEqual(expect.objectContaining({ orderId: o.orderId, event: 'started', ts: o.startedAt }));
    }
  });

  it('completes orders, publishing completed with a lead time in the ground truth', async () => {
    messages.length = 0;
    sim.step(3000);
    const truth = sim.groundTruth();
    const done = truth.orders.filter((o) => o.completedAt);
    expect(done.length).toBeGreaterThan(0);
    await until(() => orderEvents().filter((e) => e.event === 'completed').length === done.length, 'completed events');
    for (const o of done) {
      expect(o.leadTimeS).toBeGreaterThanOrEqual(0);
      expect(Date.parse(o.completedAt as string)).toBeGreaterThanOrEqual(Date.parse(o.releasedAt as string));
    }
  });

  it('forces a state now on both protocols', async () => {
    messages.length = 0;
    sim.setState('printer-1', 'down');
    sim.setState('assembly-1', 'planned_stop');
    const [, , , state] = await readMachine('printer-1');
    expect(state?.value.value).toBe(3);
    await until(() => telemetry().some((p) => p.state === 'planned_stop'), 'the planned_stop telemetry');
    sim.step(100);
    expect(sim.snapshot('printer-1').state).toBe('down');
    sim.setState('printer-1', 'running');
    sim.setState('assembly-1', 'running');
    expect((await readMachine('printer-1'))[3]?.value.value).toBe(1);
    expect(() => sim.setState('nope' as MachineId, 'down')).toThrow(/unknown machine/);
  });

  it('advances in real time at `speed` while resumed, and not while paused', async () => {
    const s0 = sim.simTimeS;
    sim.resume();
    expect(sim.running).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    sim.pause();
    const s1 = sim.simTimeS;
    // 0.6 s at speed 100 ≈ 60 steps (timer granularity allows some slack)
    expect(s1 - s0).toBeGreaterThanOrEqual(30);
    expect(s1 - s0).toBeLessThanOrEqual(90);
    await new Promise((r) => setTimeout(r, 250));
    expect(sim.simTimeS).toBe(s1);
  });

  it('refuses a port in use with SFA_ERR_SIMULATOR_START and leaves nothing open', async () => {
    const other = new PlantSimulator({ opcuaPort: 0, mqttPort: ep.mqttPort, autoStart: false, pkiDir: join(dir, 'pki') });
    await expect(other.start()).rejects.toMatchObject({ code: 'SFA_ERR_SIMULATOR_START' });
    await other.stop();
  });
});

describe('stop() and runSimulator()', () => {
  it('closes both ports', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-test-'));
    try {
      const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
      const ac = new AbortController();
      const infos: string[] = [];
      const running = runSimulator({ opcuaPort: 0, mqttPort: 0, speed: 10, pkiDir: join(dir, 'pki') }, { ...log, info: (_o: object, msg?: string) => infos.push(msg ?? '') }, ac.signal);
      await until(() => infos.some((m) => m.startsWith('demo plant running')), 'the simulator to start', 15_000);
      ac.abort();
      await running;
      expect(infos).toContain('demo plant stopped');

      const sim = new PlantSimulator({ opcuaPort: 0, mqttPort: 0, pkiDir: join(dir, 'pki') }, log);
      const ep = await sim.start();
      expect(sim.running).toBe(true);
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${ep.mqttPort}`, { reconnectPeriod: 0 });
      await sim.stop();
      await c.endAsync(true);
      expect(sim.running).toBe(false);
      expect(await refused(ep.opcuaPort)).toBe(true);
      expect(await refused(ep.mqttPort)).toBe(true);
      await sim.stop(); // twice is fine
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

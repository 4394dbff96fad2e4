/**
 * Modbus TCP source. Every device (host + unit id) has its own connection and every polling
 * group its own timer, so a device that stops answering only ever delays itself. Requests
 * to one device are serialised (many devices and gateways handle one at a time). A failed
 * device gets one bad-quality sample per register (the KPI engine ends held values there)
 * and is reconnected with exponential backoff. Read-only: only function codes 1–4 are sent.
 */
import modbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import type { ModbusDeviceConfig, ModbusRegisterConfig, ModbusSourceConfig } from './modbus-schema.ts';
import type { Sample } from '../../agent/model/index.ts';
import type { Driver, DriverContext } from '../driver.ts';
import { decodeRegister, planBlocks, type ReadBlock } from './register-plan.ts';

/** modbus-serial is CommonJS: its module.exports is the client class (the typings say "default"). */
const ModbusClient = modbusSerial as unknown as typeof ModbusRTU;

interface PollGroup {
  name: string;
  intervalMs: number;
  blocks: ReadBlock[];
  timer: NodeJS.Timeout | undefined;
  nextAt: number;
  busy: boolean;
}

interface DeviceSpec {
  id: string;
  host: string;
  port: number;
  unitId: number;
  timeoutMs: number;
  groups: { name: string; intervalMs: number; registers: ModbusRegisterConfig[] }[];
}

/** The devices of a source: the single-device form (host at the top) and devices[]. */
export function devicesOf(config: ModbusSourceConfig): DeviceSpec[] {
  const groupsOf = (d: Pick<ModbusDeviceConfig, 'intervalMs' | 'registers' | 'groups'>): DeviceSpec['groups'] => [
    ...(d.registers.length > 0 ? [{ name: 'default', intervalMs: d.intervalMs, registers: d.registers }] : []),
    ...d.groups.map((g, i) => ({ name: g.name ?? `group-${i + 1}`, intervalMs: g.intervalMs, registers: g.registers })),
  ];
  const out: DeviceSpec[] = [];
  if (config.host !== undefined) out.push({ id: config.id, host: config.host, port: config.port, unitId: config.unitId, timeoutMs: config.timeoutMs, groups: groupsOf(config) });
  for (const d of config.devices) out.push({ id: d.id, host: d.host, port: d.port, unitId: d.unitId, timeoutMs: d.timeoutMs, groups: groupsOf(d) });
  return out;
}

interface ModbusErrorLike {
  message?: string;
  modbusCode?: number;
  errno?: string;
}

function describe(err: unknown): { exception: boolean; text: string } {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ModbusErrorLike;
  return { exception: typeof e.modbusCode === 'number', text: e.message ?? e.errno ?? String(err) };
}

class DevicePoller {
  private client: ModbusRTU | undefined;
  private connected = false;
  private healthy = false;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private queue: Promise<void> = Promise.resolve();
  private readonly groups: PollGroup[];
  /** per block key, the last exception reported (logged once per change) */
  private readonly blockErrors = new Map<string, string>();

  constructor(
    readonly spec: DeviceSpec,
    private readonly reconnect: { minMs: number; maxMs: number },
    private readonly ctx: DriverContext,
    private readonly onHealth: (device: string, up: boolean, detail: string | undefined) => void,
  ) {
    this.backoffMs = reconnect.minMs;
    this.groups = spec.groups.map((g) => ({ name: g.name, intervalMs: g.intervalMs, blocks: planBlocks(g.registers), timer: undefined, nextAt: 0, busy: false }));
  }

  start(): void {
    void this.connect();
    const now = Date.now();
    for (const g of this.groups) {
      g.nextAt = now;
      this.tick(g);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const g of this.groups) if (g.timer) clearTimeout(g.timer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.closeClient();
  }

  /** Fixed-rate schedule: a slow poll skips missed ticks instead of piling them up. */
  private tick(g: PollGroup): void {
    if (this.stopped) return;
    const now = Date.now();
    g.nextAt += g.intervalMs;
    if (g.nextAt <= now) g.nextAt = now + g.intervalMs;
    g.timer = setTimeout(() => this.tick(g), g.nextAt - now);
    if (!this.connected || g.busy) return;
    g.busy = true;
    this.queue = this.queue
      .then(() => this.poll(g))
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        g.busy = false;
      });
  }

  private async poll(g: PollGroup): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return;
    const samples: Sample[] = [];
    for (const b of g.blocks) {
      const key = `${b.table}:${b.address}:${b.count}`;
      let raw: Buffer | boolean[];
      try {
        raw = await this.read(client, b);
      } catch (err) {
        const d = describe(err);
        if (!d.exception) throw err; // timeout or connection lost: the whole device
        // the device answered with an exception (wrong address, …): only this block is bad
        if (this.blockErrors.get(key) !== d.text) {
          this.blockErrors.set(key, d.text);
          this.ctx.log.warn({ device: this.spec.id, table: b.table, address: b.address, count: b.count, error: d.text }, 'modbus: device refused a read; check the register addresses');
        }
        const ts = Date.now();
        for (const r of b.registers) samples.push({ machine: r.config.machine, signal: r.config.signal, ts, value: null, quality: 'bad' });
        continue;
      }
      if (this.blockErrors.delete(key)) this.ctx.log.info({ device: this.spec.id, table: b.table, address: b.address }, 'modbus: read works again');
      const ts = Date.now();
      for (const r of b.registers) {
        const value = Array.isArray(raw) ? raw[r.offset] === true : decodeRegister(r, raw);
        samples.push({ machine: r.config.machine, signal: r.config.signal, ts, value, quality: value === null ? 'bad' : 'good' });
      }
    }
    if (samples.length > 0) this.ctx.emit(samples);
    if (!this.healthy) {
      this.healthy = true;
      this.backoffMs = this.reconnect.minMs;
      this.onHealth(this.spec.id, true, undefined);
    }
  }

  private async read(client: ModbusRTU, b: ReadBlock): Promise<Buffer | boolean[]> {
    switch (b.table) {
      case 'holding':
        return (await client.readHoldingRegisters(b.address, b.count)).buffer;
      case 'input':
        return (await client.readInputRegisters(b.address, b.count)).buffer;
      case 'coil':
        return (await client.readCoils(b.address, b.count)).data;
      case 'discrete':
        return (await client.readDiscreteInputs(b.address, b.count)).data;
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new ModbusClient();
    this.client = client;
    try {
      await client.connectTCP(this.spec.host, { port: this.spec.port, timeout: this.spec.timeoutMs });
      if (this.stopped || this.client !== client) {
        client.close(() => undefined);
        return;
      }
      client.setID(this.spec.unitId);
      client.setTimeout(this.spec.timeoutMs);
      client.on('close', () => {
        if (this.client === client) this.fail(new Error('connection closed by the device'));
      });
      client.on('error', (err: unknown) => {
        if (this.client === client) this.fail(err);
      });
      // "up" only after a read succeeds: a hung device often still accepts connections
      this.connected = true;
      // poll at once rather than waiting up to one interval
      for (const g of this.groups) {
        if (g.timer) clearTimeout(g.timer);
        g.nextAt = Date.now() - g.intervalMs;
        this.tick(g);
      }
    } catch (err) {
      this.connected = false;
      this.onHealth(this.spec.id, false, `${this.spec.host}:${this.spec.port}: ${describe(err).text}`);
      await this.closeClient();
      this.scheduleReconnect();
    }
  }

  private fail(err: unknown): void {
    if (!this.connected || this.stopped) return;
    this.connected = false;
    if (this.healthy) {
      // once per outage: end every held value of this device
      this.healthy = false;
      const ts = Date.now();
      const samples: Sample[] = [];
      for (const g of this.groups) for (const b of g.blocks) for (const r of b.registers) samples.push({ machine: r.config.machine, signal: r.config.signal, ts, value: null, quality: 'bad' });
      this.ctx.emit(samples);
    }
    this.onHealth(this.spec.id, false, `${this.spec.host}:${this.spec.port}: ${describe(err).text}`);
    void this.closeClient().then(() => this.scheduleReconnect());
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.reconnect.maxMs, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private closeClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      try {
        client.close(() => {
          clearTimeout(t);
          resolve();
        });
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }
}

export class ModbusDriver implements Driver {
  readonly type = 'modbus';
  readonly id: string;
  private readonly pollers: DevicePoller[] = [];

  constructor(private readonly config: ModbusSourceConfig) {
    this.id = config.id;
  }

  async start(ctx: DriverContext): Promise<void> {
    ctx.setState('connecting');
    const devices = devicesOf(this.config);
    const down = new Map<string, string>(devices.map((d) => [d.id, 'not connected yet']));
    const report = (): void => {
      if (down.size === 0) ctx.setState('connected');
      else {
        const detail = [...down].map(([id, why]) => `${id}: ${why}`).join('; ');
        ctx.setState(down.size === devices.length ? 'disconnected' : 'error', `${down.size} of ${devices.length} device(s) not answering — ${detail}`);
      }
    };
    for (const spec of devices) {
      const p = new DevicePoller(spec, this.config.reconnect, ctx, (device, up, detail) => {
        if (up) down.delete(device);
        else down.set(device, detail ?? 'down');
        report();
      });
      this.pollers.push(p);
      p.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.pollers.splice(0).map((p) => p.stop()));
  }
}

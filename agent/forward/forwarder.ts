/**
 * Store-and-forward to the central broker (DESIGN.md §2.4, §6 "Upstream MQTT").
 *
 * - `{prefix}/{site}/{agent}/status`: retained `online`, Last Will retained `offline`;
 * - `{prefix}/{site}/{agent}/kpi/{machine}`: retained KPI snapshots (current shift and day);
 * - `{prefix}/{site}/{agent}/samples`: QoS 1 batches of ≤ batchSize samples, oldest first,
 *   chained: each names the buffer's `instance` and `prevLastId`, the last id of the batch
 *   before it in the same run of reads (after a reconnect or a rewind, the cursor it resumed
 *   from), so a consumer tells a lost batch from ids the agent dropped at its size cap;
 * - `{prefix}/{site}/{agent}/plant`: the plant description, retained (plant-description.ts);
 * - `{prefix}/{site}/{agent}/hours/{machine}`: hourly KPI components (hour-publisher.ts);
 * - `{prefix}/{site}/{agent}/confirm` (subscribed, from the fleet): confirmation.ts.
 *
 * On every (re)connect status, plant description and KPI snapshots are published before the
 * backlog. Up to
 * `inFlight` batches are unacknowledged at a time; the cursor (meta 'forward_cursor') moves
 * only on PUBACK, and only to the last id of the oldest batches that are all acknowledged,
 * so it never passes a batch the broker has not taken. A lost connection drops the window
 * and reading restarts at the cursor: after a reconnect or a crash the broker may see a batch
 * twice (consumers de-duplicate on (instance, id)), never a gap. With `confirm: fleet` retention
 * deletes only what the fleet confirmed (`retainableUpTo`), and a confirmation that stays behind
 * the acknowledged cursor for `confirmTimeoutMs` rewinds the cursor to the confirmed id: what a
 * broker acknowledged and then lost (restarted without persistence) is sent again.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { SqliteBuffer } from '../buffer/index.ts';
import { readTlsFiles } from '../tls-files.ts';
import { bufferInstance, Confirmation } from './confirmation.ts';
import { FORWARDER_DEFAULTS, withTimeout, type ForwarderOptions } from './forwarder-options.ts';
import { HourPublisher, type HourKpis, type HourPublisherOptions } from './hour-publisher.ts';

export type UpstreamState = 'connecting' | 'connected' | 'disconnected';

export interface KpiSnapshot {
  machine: string;
  payload: unknown;
}

export interface ForwarderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ForwarderHooks {
  /** the KPI snapshot per machine (current shift and day rows) */
  kpiSnapshots?: () => KpiSnapshot[];
  /** called with the number of samples in each acknowledged batch */
  onForwarded?: (samples: number) => void;
  onState?: (state: UpstreamState) => void;
  /** the retained plant description (plant-description.ts), given the buffer's instance */
  plantDescription?: (instance: string) => unknown;
  /** hourly KPI components per machine: the KPI service and the site's zone */
  hours?: { kpis: HourKpis; options: Partial<HourPublisherOptions> & { timezone: string } };
}

interface InFlight {
  lastId: number;
  count: number;
  acked: boolean;
}

export const CURSOR_KEY = 'forward_cursor';

export class Forwarder {
  private readonly opts: ForwarderOptions;
  private client: MqttClient | undefined;
  private stateValue: UpstreamState = 'connecting';
  private cursorValue: number;
  private persisted: number;
  private readPos: number;
  private window: InFlight[] = [];
  private epoch = 0;
  private idle = false;
  private pumping = false;
  private pumpScheduled = false;
  private stopping = false;
  private persistTimer: NodeJS.Timeout | undefined;
  private kpiTimer: NodeJS.Timeout | undefined;
  private confirmTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  /** the last id of the batch published before the next one (the chain's link) */
  private chainLast: number;
  /** the buffer's instance (meta 'instance') */
  readonly instance: string;
  readonly confirmation: Confirmation;
  readonly hours: HourPublisher | undefined;
  /** rewinds to the confirmed id since start */
  rewinds = 0;
  lastAckAt: number | undefined;
  /** samples acknowledged by the broker since start (resends included) */
  forwarded = 0;
  readonly topics: { samples: string; status: string; kpi: (machine: string) => string; plant: string; confirm: string; hours: (machine: string) => string };
  /** `"agent":…,"site":…,"instance":…` of every samples message, serialised once */
  private readonly header: string;

  constructor(
    private readonly buffer: SqliteBuffer,
    options: Partial<ForwarderOptions> & Pick<ForwarderOptions, 'url' | 'site' | 'agent' | 'clientId'>,
    private readonly log: ForwarderLog,
    private readonly hooks: ForwarderHooks = {},
  ) {
    this.opts = { ...FORWARDER_DEFAULTS, ...options };
    const base = `${this.opts.topicPrefix}/${this.opts.site}/${this.opts.agent}`;
    this.topics = {
      samples: `${base}/samples`,
      status: `${base}/status`,
      kpi: (m) => `${base}/kpi/${m}`,
      plant: `${base}/plant`,
      confirm: `${base}/confirm`,
      hours: (m) => `${base}/hours/${m}`,
    };
    this.instance = bufferInstance(buffer);
    this.header = `"agent":${JSON.stringify(this.opts.agent)},"site":${JSON.stringify(this.opts.site)},"instance":${JSON.stringify(this.instance)}`;
    this.confirmation = new Confirmation(buffer, this.instance, this.opts.confirm, this.opts.confirmTimeoutMs);
    this.cursorValue = Number(buffer.getMeta(CURSOR_KEY) ?? 0);
    this.persisted = this.cursorValue;
    this.readPos = this.cursorValue;
    this.chainLast = this.cursorValue;
    const h = hooks.hours;
    this.hours = h ? new HourPublisher(buffer, h.kpis, this.header, (m, payload, done) => this.publishHour(m, payload, done), log, h.options) : undefined;
    buffer.onCommit((samples) => {
      this.hours?.committed(samples);
      if (this.idle) {
        this.idle = false;
        this.schedulePump();
      }
    });
  }

  get state(): UpstreamState {
    return this.stateValue;
  }

  /** Every sample with id ≤ cursor has been acknowledged by the broker (or was dropped). */
  get cursor(): number {
    return this.cursorValue;
  }

  /** Retention may delete samples up to this id: acknowledged by the broker, or (confirm: fleet) confirmed by the fleet. */
  get retainableUpTo(): number {
    return this.opts.confirm === 'fleet' ? this.confirmation.confirmedId : this.cursorValue;
  }

  /** Samples committed and not yet acknowledged upstream. */
  backlog(): number {
    return this.buffer.countAfter(this.cursorValue);
  }

  start(): void {
    // a supervisor restarts the forwarder with stop() and start()
    this.stopping = false;
    const o = this.opts;
    const tls = readTlsFiles(o, 'SFA_ERR_UPSTREAM_TLS', 'upstream');
    this.client = mqtt.connect(o.url, {
      clientId: o.clientId,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: o.reconnectMs,
      connectTimeout: o.connectTimeoutMs,
      rejectUnauthorized: o.rejectUnauthorized,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...tls,
      will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('message', (topic, payload) => {
      if (topic === this.topics.confirm) this.onConfirm(payload);
    });
    this.client.on('close', () => this.onClose());
    this.client.on('error', (err) => {
      // normal life (broker down, refused): state, logged once per change in onClose
      this.lastError = err.message;
    });
    if (o.kpiIntervalMs > 0) {
      this.kpiTimer = setInterval(() => this.publishKpis(), o.kpiIntervalMs);
      this.kpiTimer.unref();
    }
    if (o.confirm === 'fleet') {
      this.confirmTimer = setInterval(() => this.checkConfirmation(), Math.min(1000, Math.max(10, o.confirmTimeoutMs / 4)));
      this.confirmTimer.unref();
    }
    this.hours?.start();
  }

  /** Publishes `offline`, persists the cursor and disconnects (the Will is for crashes). */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    if (this.kpiTimer) clearInterval(this.kpiTimer);
    if (this.confirmTimer) clearInterval(this.confirmTimer);
    this.hours?.stop();
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const c = this.client;
    if (c) {
      if (c.connected) {
        await withTimeout(
          new Promise<void>((resolve) => c.publish(this.topics.status, 'offline', { qos: 1, retain: true }, () => resolve())),
          timeoutMs,
        );
      }
      await withTimeout(new Promise<void>((resolve) => c.end(false, {}, () => resolve())), timeoutMs);
      c.removeAllListeners();
    }
    this.persistCursor();
  }

  private onConnect(): void {
    this.setState('connected');
    const c = this.client;
    if (!c) return;
    // the fleet's confirmation (retained: the latest arrives at once); with confirm: broker only reported
    this.confirmation.connected();
    c.subscribe(this.topics.confirm, { qos: 1 });
    // status, plant and KPI snapshots first: MQTT keeps a client's QoS 1 publishes in order
    c.publish(this.topics.status, 'online', { qos: 1, retain: true });
    this.publishPlant();
    this.publishKpis();
    this.pump();
    this.hours?.connected();
  }

  private onClose(): void {
    // the window is lost with the connection: read again from the cursor after reconnect
    this.epoch++;
    this.window = [];
    this.readPos = this.cursorValue;
    this.chainLast = this.cursorValue;
    this.idle = false;
    this.hours?.disconnected();
    if (!this.stopping) this.setState('disconnected');
  }

  private setState(s: UpstreamState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.hooks.onState?.(s);
    if (s === 'connected') this.log.info({ url: this.opts.url, cursor: this.cursorValue }, 'upstream connected; forwarding the backlog');
    else this.log.warn({ url: this.opts.url, error: this.lastError, cursor: this.cursorValue }, 'upstream disconnected; samples stay in the buffer and are sent after reconnect [SFA_ERR_UPSTREAM_CONNECT]');
  }

  private publishKpis(): void {
    const c = this.client;
    if (!c?.connected || !this.hooks.kpiSnapshots) return;
    let snaps: KpiSnapshot[];
    try {
      snaps = this.hooks.kpiSnapshots();
    } catch (err) {
      this.log.warn({ err }, 'KPI snapshot failed; the raw samples are still forwarded');
      return;
    }
    for (const s of snaps) c.publish(this.topics.kpi(s.machine), JSON.stringify(s.payload), { qos: 1, retain: true });
  }

  /** Fills the window with batches read from the buffer. */
  private pump(): void {
    const c = this.client;
    if (this.pumping || this.stopping || !c?.connected) return;
    this.pumping = true;
    try {
      while (this.window.length < this.opts.inFlight) {
        const batch = this.buffer.readAfterJson(this.readPos, this.opts.batchSize);
        if (batch === undefined) {
          // nothing after readPos: any id up to the newest was acknowledged or deleted (confirmed
          // by the fleet, or dropped at the cap), so the cursor may pass it — else a rewind whose
          // resend retention overtook would leave the cursor behind until the next sample
          if (this.window.length === 0) this.passTo(this.buffer.newestId());
          this.idle = true;
          return;
        }
        const entry: InFlight = { lastId: batch.lastId, count: batch.count, acked: false };
        this.window.push(entry);
        this.readPos = batch.lastId;
        const epoch = this.epoch;
        const payload = `{${this.header},"firstId":${batch.firstId},"lastId":${batch.lastId},"prevLastId":${this.chainLast},"samples":${batch.json}}`;
        this.chainLast = batch.lastId;
        c.publish(this.topics.samples, payload, { qos: 1 }, (err) => this.onAck(epoch, entry, err));
      }
    } finally {
      this.pumping = false;
    }
  }

  private onAck(epoch: number, entry: InFlight, err: Error | undefined): void {
    if (epoch !== this.epoch || err) return;
    entry.acked = true;
    this.lastAckAt = Date.now();
    // in order and contiguous: the cursor passes only batches whose predecessors are acked too
    let moved = false;
    while (this.window[0]?.acked) {
      const done = this.window.shift() as InFlight;
      this.cursorValue = done.lastId;
      this.forwarded += done.count;
      this.hooks.onForwarded?.(done.count);
      moved = true;
    }
    if (!moved) return;
    this.schedulePersist();
    // refill on the next turn: acks arrive in bursts, and sources and timers must get their turn
    this.schedulePump();
  }

  /** Moves the cursor over ids that no longer exist (nothing in flight, nothing left to read). */
  private passTo(id: number): void {
    if (id <= this.cursorValue) return;
    this.cursorValue = id;
    this.readPos = Math.max(this.readPos, id);
    this.schedulePersist();
  }

  private schedulePersist(): void {
    if (this.persistTimer !== undefined) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      this.persistCursor();
    }, this.opts.cursorPersistMs);
  }

  private publishPlant(): void {
    const c = this.client;
    if (!c?.connected || !this.hooks.plantDescription) return;
    try {
      c.publish(this.topics.plant, JSON.stringify(this.hooks.plantDescription(this.instance)), { qos: 1, retain: true });
    } catch (err) {
      this.log.warn({ err }, 'plant description failed; the samples are still forwarded');
    }
  }

  private publishHour(machine: string, payload: string, done: (err?: Error) => void): boolean {
    const c = this.client;
    if (!c?.connected || this.stopping) return false;
    c.publish(this.topics.hours(machine), payload, { qos: 1 }, done);
    return true;
  }

  private onConfirm(payload: Buffer): void {
    try {
      const v = this.confirmation.receive(payload, this.buffer.stats().lastId);
      if (v === 'invalid') this.log.warn({ topic: this.topics.confirm }, 'ignoring a confirmation that is not { instance, confirmedId, at }');
    } catch (err) {
      // not kept on disk (disk full): held in memory, written with the next confirmation
      this.log.warn({ err }, 'could not persist the confirmed id');
    }
  }

  /**
   * confirm: fleet — a confirmation stuck behind the broker's acknowledgements means batches the
   * broker took never reached the fleet's store: rewind to the confirmed id and send them again.
   */
  private checkConfirmation(): void {
    const c = this.client;
    if (!c?.connected || this.stopping || !this.confirmation.stalled(this.cursorValue)) return;
    const from = this.cursorValue;
    const to = this.confirmation.confirmedId;
    this.rewinds++;
    this.log.warn({ ackedId: from, confirmedId: to }, 'the fleet has not confirmed what the broker acknowledged; resending from the confirmed id');
    this.epoch++; // acknowledgements of the dropped window no longer move the cursor
    this.window = [];
    this.cursorValue = to;
    this.readPos = to;
    this.chainLast = to;
    this.persistCursor();
    // hour messages the broker acknowledged since the confirmation last moved may be lost too
    this.hours?.resendAckedSince(this.confirmation.advancedAt - this.opts.confirmTimeoutMs);
    this.idle = false;
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private persistCursor(): void {
    if (this.cursorValue === this.persisted) return;
    try {
      this.buffer.setMeta(CURSOR_KEY, String(this.cursorValue));
      this.persisted = this.cursorValue;
    } catch (err) {
      // disk full or closed: the cursor on disk stays behind, which only means resends
      this.log.warn({ err }, 'could not persist the forward cursor; batches may be resent');
    }
  }
}

/**
 * The fleet's side of the upstream protocol, played by a test (README "Upstream"): stores the
 * samples of each batch keyed by (instance, id), advances the contiguous cursor C over a batch
 * when its `prevLastId ≤ C` (and over held-back batches that then qualify) and publishes C,
 * retained, on the agent's confirm topic. `lose` makes it discard a delivery, as a broker that
 * acknowledged a batch and then lost it would.
 */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { SamplesMessage } from './forward-helpers.ts';

export class FakeFleet {
  /** stored ids per instance (a set: a batch stored twice changes nothing) */
  readonly stored = new Map<string, Set<number>>();
  /** how often each id arrived (duplicates included), per instance */
  readonly deliveries = new Map<string, number>();
  /** every batch delivered and kept, in arrival order */
  readonly batches: SamplesMessage[] = [];
  /** the contiguous cursor per instance */
  readonly cursor = new Map<string, number>();
  /** hourly components: the highest revision per `${instance} ${machine} ${hourStart}` */
  readonly hours = new Map<string, { revision: number; components: Record<string, unknown> }>();
  /** publish confirmations (false: the fleet stalls) */
  confirming = true;
  lose: (m: SamplesMessage) => boolean = () => false;
  private readonly held = new Map<string, { prev: number; last: number }[]>();
  private client: MqttClient | undefined;

  private readonly clientId = `fleet-${Math.random().toString(36).slice(2)}`;

  constructor(
    private readonly url: string,
    /** `{prefix}/{site}/{agent}` */
    private readonly base: string,
    /** a persistent session: the broker queues for the fleet while it is away */
    private readonly session = false,
  ) {}

  async start(): Promise<void> {
    const c = await mqtt.connectAsync(this.url, { clientId: this.clientId, clean: !this.session, reconnectPeriod: 500 });
    this.client = c;
    c.on('message', (topic, payload) => {
      if (topic.startsWith(`${this.base}/hours/`)) {
        const h = JSON.parse(payload.toString('utf8')) as { instance: string; machine: string; hourStart: number; revision: number; components: Record<string, unknown> };
        const key = `${h.instance} ${h.machine} ${h.hourStart}`;
        if ((this.hours.get(key)?.revision ?? 0) < h.revision) this.hours.set(key, { revision: h.revision, components: h.components });
        return;
      }
      if (topic !== `${this.base}/samples`) return;
      const m = JSON.parse(payload.toString('utf8')) as SamplesMessage;
      if (this.lose(m)) return;
      this.store(m);
    });
    await c.subscribeAsync([`${this.base}/samples`, `${this.base}/hours/+`], { qos: 1 });
  }

  /** Goes away (its session stays with the broker, which queues for it). */
  async pause(): Promise<void> {
    await this.client?.endAsync();
    this.client = undefined;
  }

  contiguous(instance: string): number {
    return this.cursor.get(instance) ?? 0;
  }

  private store(m: SamplesMessage): void {
    const inst = m.instance ?? '';
    this.batches.push(m);
    const set = this.stored.get(inst) ?? new Set<number>();
    this.stored.set(inst, set);
    for (const s of m.samples) set.add(s.id);
    this.deliveries.set(inst, (this.deliveries.get(inst) ?? 0) + m.samples.length);
    const held = this.held.get(inst) ?? [];
    this.held.set(inst, held);
    held.push({ prev: m.prevLastId ?? 0, last: m.lastId });
    let c = this.contiguous(inst);
    const before = c;
    for (let moved = true; moved; ) {
      moved = false;
      for (let i = held.length - 1; i >= 0; i--) {
        const h = held[i] as { prev: number; last: number };
        if (h.prev > c) continue;
        c = Math.max(c, h.last);
        held.splice(i, 1);
        moved = true;
      }
    }
    this.cursor.set(inst, c);
    if (c !== before && this.confirming) this.confirm(inst, c);
  }

  /** Publishes a confirmation, retained (also for tests that fake another instance). */
  confirm(instance: string, confirmedId: number): void {
    this.client?.publish(`${this.base}/confirm`, JSON.stringify({ instance, confirmedId, at: new Date().toISOString() }), { qos: 1, retain: true });
  }

  /** Clears the retained messages under the agent's topics and disconnects. */
  async stop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    for (const t of ['confirm', 'plant', 'status']) await c.publishAsync(`${this.base}/${t}`, '', { qos: 1, retain: true });
    await c.endAsync();
  }
}

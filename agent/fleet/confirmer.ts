/**
 * Publishes each agent's confirmation (notes/fleet-protocol.md §3): retained QoS 1
 * `{p}/{site}/{agent}/confirm` `{ instance, confirmedId, at }`, at most once per `intervalMs`
 * per agent and always the latest. Re-published after every commit that carried the agent's
 * samples, also when the id did not move: an agent that resends after a lost confirmation (a
 * broker restarted without persistence) learns it again.
 *
 * With several fleet processes sharing an agent's stream, each publishes after its own commits;
 * a value held back by the interval would overwrite a newer one another process published
 * meanwhile, so the cursor is read back from the store when the message is sent. Two sends can
 * still cross within one read's round trip: an agent should keep the highest id per instance.
 */

export interface ConfirmPublisher {
  publish(topic: string, payload: string): void;
}

/** The committed cursor of an instance now (null: unknown). */
export type CursorReader = (instance: string) => Promise<number | null>;

export interface ConfirmerLog {
  warn(obj: object, msg: string): void;
}

interface Slot {
  instance: string;
  confirmedId: number;
  lastAt: number;
  timer: NodeJS.Timeout | undefined;
  sending: boolean;
}

export class Confirmer {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(
    private readonly prefix: string,
    private readonly intervalMs: number,
    private readonly out: ConfirmPublisher,
    private readonly read: CursorReader,
    private readonly log: ConfirmerLog,
  ) {}

  update(site: string, agent: string, instance: string, confirmedId: number): void {
    const topic = `${this.prefix}/${site}/${agent}/confirm`;
    let slot = this.slots.get(topic);
    if (!slot) {
      slot = { instance, confirmedId, lastAt: 0, timer: undefined, sending: false };
      this.slots.set(topic, slot);
    }
    if (slot.instance !== instance || confirmedId > slot.confirmedId) {
      slot.instance = instance;
      slot.confirmedId = confirmedId;
    }
    this.schedule(topic, slot);
  }

  private schedule(topic: string, slot: Slot): void {
    if (slot.timer || slot.sending || this.stopped) return;
    const s = slot;
    s.timer = setTimeout(
      () => {
        s.timer = undefined;
        void this.send(topic, s);
      },
      Math.max(0, s.lastAt + this.intervalMs - Date.now()),
    );
  }

  private async send(topic: string, slot: Slot): Promise<void> {
    slot.sending = true;
    const instance = slot.instance;
    try {
      const now = await this.read(instance);
      if (now !== null && now > slot.confirmedId && slot.instance === instance) slot.confirmedId = now;
    } catch (err) {
      // the store is away: publish what this process committed (a lower bound, still true)
      this.log.warn({ err, topic }, 'could not read the confirmed id back; publishing the last one committed here');
    } finally {
      slot.sending = false;
    }
    if (this.stopped) return;
    slot.lastAt = Date.now();
    this.out.publish(topic, JSON.stringify({ instance: slot.instance, confirmedId: slot.confirmedId, at: new Date(slot.lastAt).toISOString() }));
  }

  /** Sends what is waiting now (shutdown). */
  async flush(): Promise<void> {
    const waiting: Promise<void>[] = [];
    for (const [topic, slot] of this.slots) {
      if (!slot.timer) continue;
      clearTimeout(slot.timer);
      slot.timer = undefined;
      waiting.push(this.send(topic, slot));
    }
    await Promise.all(waiting);
  }

  stop(): void {
    this.stopped = true;
    for (const slot of this.slots.values()) if (slot.timer) clearTimeout(slot.timer);
    this.slots.clear();
  }
}

/**
 * Publishes each agent's confirmation (notes/fleet-protocol.md §3): retained QoS 1
 * `{p}/{site}/{agent}/confirm` `{ instance, confirmedId, at }`, at most once per `intervalMs`
 * per agent and always the latest. Re-published after every commit that carried the agent's
 * samples, also when the id did not move: an agent that resends after a lost confirmation (a
 * broker restarted without persistence) learns it again.
 */

export interface ConfirmPublisher {
  publish(topic: string, payload: string): void;
}

interface Slot {
  instance: string;
  confirmedId: number;
  lastAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class Confirmer {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly prefix: string,
    private readonly intervalMs: number,
    private readonly out: ConfirmPublisher,
  ) {}

  update(site: string, agent: string, instance: string, confirmedId: number): void {
    const topic = `${this.prefix}/${site}/${agent}/confirm`;
    let slot = this.slots.get(topic);
    if (!slot) {
      slot = { instance, confirmedId, lastAt: 0, timer: undefined };
      this.slots.set(topic, slot);
    }
    slot.instance = instance;
    slot.confirmedId = confirmedId;
    if (slot.timer) return;
    const wait = slot.lastAt + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.send(topic, slot);
      return;
    }
    const s = slot;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      this.send(topic, s);
    }, wait);
  }

  private send(topic: string, slot: Slot): void {
    slot.lastAt = Date.now();
    this.out.publish(topic, JSON.stringify({ instance: slot.instance, confirmedId: slot.confirmedId, at: new Date(slot.lastAt).toISOString() }));
  }

  /** Sends what is waiting now (shutdown). */
  flush(): void {
    for (const [topic, slot] of this.slots) {
      if (!slot.timer) continue;
      clearTimeout(slot.timer);
      slot.timer = undefined;
      this.send(topic, slot);
    }
  }

  stop(): void {
    for (const slot of this.slots.values()) if (slot.timer) clearTimeout(slot.timer);
    this.slots.clear();
  }
}

/**
 * End-to-end confirmation (README "Upstream", `upstream.confirm: fleet`): the fleet publishes,
 * retained on `{prefix}/{site}/{agent}/confirm`, the highest id up to which it has durably
 * stored every sample of this buffer's instance. The agent keeps the highest confirmed id in
 * meta (a restart keeps it) and tells the forwarder when confirmation has stayed behind the
 * broker-acknowledged cursor for `confirmTimeoutS`, so it resends from the confirmed id.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export type ConfirmMode = 'broker' | 'fleet';

export const CONFIRMED_ID_KEY = 'upstream_confirmed_id';
export const CONFIRMED_AT_KEY = 'upstream_confirmed_at';
export const INSTANCE_KEY = 'instance';

/** The fleet's message, parsed at the edge. */
export const confirmMessage = z.object({
  instance: z.string().min(1),
  confirmedId: z.number().int().nonnegative(),
  at: z.string().optional(),
});

export interface MetaStore {
  getMeta(k: string): string | undefined;
  setMeta(k: string, value: string): void;
}

/** The buffer's instance id (migration 4 writes it; a buffer missing it gets one here). */
export function bufferInstance(meta: MetaStore): string {
  const v = meta.getMeta(INSTANCE_KEY);
  if (v) return v;
  const id = randomUUID();
  meta.setMeta(INSTANCE_KEY, id);
  return id;
}

export type ConfirmVerdict = 'accepted' | 'stale' | 'other-instance' | 'invalid';

export class Confirmation {
  private confirmed: number;
  private at: number | undefined;
  /** since when confirmation has been behind the acknowledged cursor (undefined: it is not) */
  private behindSince: number | undefined;
  /** rewinds since the confirmation last advanced: each doubles the next wait (a fleet that is down is not flooded) */
  private misses = 0;
  /** when the confirmed id last advanced, by this clock (at start: the start) */
  advancedAt = Date.now();

  constructor(
    private readonly meta: MetaStore,
    readonly instance: string,
    readonly mode: ConfirmMode,
    private readonly timeoutMs: number,
  ) {
    this.confirmed = Number(meta.getMeta(CONFIRMED_ID_KEY) ?? 0);
    const at = meta.getMeta(CONFIRMED_AT_KEY);
    this.at = at === undefined ? undefined : Date.parse(at);
  }

  /** Every sample with id ≤ this is durably stored by the fleet (0: nothing confirmed yet). */
  get confirmedId(): number {
    return this.confirmed;
  }

  /** When the fleet said so last (epoch ms), undefined before the first confirmation. */
  get confirmedAt(): number | undefined {
    return this.at;
  }

  /**
   * A message on the confirm topic. Only this instance's counts; the id never goes back (what
   * was confirmed may have been deleted already) and never passes the newest id handed out.
   */
  receive(payload: Buffer, lastId: number, now = Date.now()): ConfirmVerdict {
    let parsed: z.infer<typeof confirmMessage>;
    try {
      const r = confirmMessage.safeParse(JSON.parse(payload.toString('utf8')));
      if (!r.success) return 'invalid';
      parsed = r.data;
    } catch {
      return 'invalid';
    }
    if (parsed.instance !== this.instance) return 'other-instance';
    const id = Math.min(parsed.confirmedId, lastId);
    // the fleet's own time of the confirmation (a retained one may be old), else its arrival
    const at = parsed.at === undefined ? Number.NaN : Date.parse(parsed.at);
    this.at = Number.isFinite(at) ? at : now;
    if (id <= this.confirmed) {
      this.persist();
      return 'stale';
    }
    this.confirmed = id;
    this.behindSince = undefined;
    this.misses = 0;
    this.advancedAt = now;
    this.persist();
    return 'accepted';
  }

  /**
   * True when the forwarder should resend from the confirmed id: confirmation (fleet mode) has
   * been behind the broker-acknowledged cursor `ackedId` for the timeout. The clock restarts
   * after each verdict of true, and the wait doubles with each rewind that brought no progress
   * (at most 32 timeouts), so a fleet that is down is not sent the backlog again every timeout.
   */
  stalled(ackedId: number, now = Date.now()): boolean {
    if (this.mode !== 'fleet' || this.confirmed >= ackedId) {
      this.behindSince = undefined;
      return false;
    }
    if (this.behindSince === undefined) {
      this.behindSince = now;
      return false;
    }
    if (now - this.behindSince < this.timeoutMs * 2 ** Math.min(this.misses, 5)) return false;
    this.behindSince = now;
    this.misses++;
    return true;
  }

  /** Time without a connection does not count as a stall (no confirmation could arrive). */
  connected(): void {
    this.behindSince = undefined;
  }

  private persist(): void {
    this.meta.setMeta(CONFIRMED_ID_KEY, String(this.confirmed));
    if (this.at !== undefined) this.meta.setMeta(CONFIRMED_AT_KEY, new Date(this.at).toISOString());
  }
}

/**
 * The subscription watchdog. Subscriptions must report at least every keep-alive; silence means
 * the server lost them or the network went quiet. A silent subscription is rebuilt when the
 * server still answers a ServerStatus read, else the whole connection is.
 */
import { AttributeIds, StatusCodes, type ClientSession } from 'node-opcua-client';
import type { DriverLogger } from '../driver.ts';
import type { OpcuaDriverOptions } from './opcua-driver-options.ts';
import type { Live } from './opcua-live.ts';
import type { LiveSubscription } from './opcua-subscription.ts';
import type { TagPlan } from './opcua-tag-plan.ts';
import { within } from './opcua-timing.ts';

export interface Watchdog {
  log: DriverLogger;
  settings: Pick<OpcuaDriverOptions, 'watchdogTickMs' | 'probeTimeoutMs' | 'deleteSubscriptionTimeoutMs'> & { keepAliveMs: number };
  /** a fresh subscription of the same tags */
  resubscribe(session: ClientSession, tags: TagPlan[]): Promise<LiveSubscription>;
  /** a silent subscription is about to be rebuilt */
  rebuilding(): void;
  /** the server does not answer either: the connection went silent (not closed), its session may live on */
  silent(): void;
}

/** Looks at the connection's subscriptions every tick until the connection breaks. */
export function watchSubscriptions(live: Live, dog: Watchdog): void {
  const timer = setInterval(() => {
    const now = Date.now();
    for (const s of live.subs) {
      if (s.rebuilding || now - s.lastHeard <= s.silenceMs) continue;
      s.rebuilding = true;
      probeAndRebuild(live, s, dog)
        .catch((err: unknown) => live.breakWith(`watchdog failed: ${(err as Error).message}`))
        .finally(() => {
          s.rebuilding = false;
        });
    }
  }, dog.settings.watchdogTickMs);
  timer.unref();
  void live.broken.then(() => clearInterval(timer));
}

async function probeAndRebuild(live: Live, s: LiveSubscription, dog: Watchdog): Promise<void> {
  const session = live.session;
  if (!session) return;
  const { probeTimeoutMs, keepAliveMs, deleteSubscriptionTimeoutMs } = dog.settings;
  try {
    const dv = await within(session.read({ nodeId: 'i=2258', attributeId: AttributeIds.Value }), Math.min(probeTimeoutMs, keepAliveMs), 'ServerStatus probe');
    if (dv.statusCode.value !== StatusCodes.Good.value) throw new Error(dv.statusCode.name);
  } catch (err) {
    dog.silent();
    live.breakWith(`no keep-alive for ${Math.round((Date.now() - s.lastHeard) / 1000)} s and the server does not answer (${(err as Error).message})`);
    return;
  }
  // the session answers but the subscription is silent: rebuild it
  dog.log.warn({ tags: s.tags.length, silentMs: Date.now() - s.lastHeard }, 'OPC UA subscription silent past its keep-alive; rebuilding it');
  dog.rebuilding();
  await within(s.sub.terminate(), deleteSubscriptionTimeoutMs, 'delete the silent subscription').catch(() => undefined);
  try {
    const fresh = await dog.resubscribe(session, s.tags);
    const i = live.subs.indexOf(s);
    if (i >= 0) live.subs[i] = fresh;
  } catch (err) {
    live.breakWith(`cannot rebuild a silent subscription: ${(err as Error).message}`);
  }
}

/**
 * One subscription of monitored items: its publishing settings derived from its tags, its items
 * created in parallel CreateMonitoredItems calls, and when the server was last heard of on it.
 */
import {
  AttributeIds,
  TimestampsToReturn,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
} from 'node-opcua-client';
import type { OpcuaSourceConfig } from './opcua-schema.ts';
import type { OpcuaDriverOptions } from './opcua-driver-options.ts';
import { releaseNotificationsAfterDispatch } from './opcua-release-notifications.ts';
import { monitorCalls, type TagPlan } from './opcua-tag-plan.ts';

export interface LiveSubscription {
  tags: TagPlan[];
  sub: ClientSubscription;
  lastHeard: number;
  silenceMs: number;
  rebuilding: boolean;
}

export type SubscriptionSettings = Pick<OpcuaSourceConfig, 'keepAliveMs' | 'sessionTimeoutMs' | 'maxNotificationsPerPublish' | 'maxItemsPerCall'> &
  Pick<OpcuaDriverOptions, 'minPublishingIntervalMs' | 'silenceMarginMs' | 'parallelCalls'>;

export interface SubscriptionHooks {
  /** true once the driver stops: no further CreateMonitoredItems call is made */
  stopping(): boolean;
  /** a data change of one tag (the hot path) */
  onValue(tag: TagPlan, dv: DataValue): void;
  /** this node-opcua version offers no hook to release dispatched notifications */
  noReleaseHook(): void;
}

export async function subscribe(session: ClientSession, tags: TagPlan[], settings: SubscriptionSettings, hooks: SubscriptionHooks): Promise<LiveSubscription> {
  const sub = await createSubscription(session, tags, settings);
  // decoded notifications die young instead of being promoted with their response (opcua-release-notifications.ts)
  if (!releaseNotificationsAfterDispatch(sub)) hooks.noReleaseHook();
  const live: LiveSubscription = { tags, sub, lastHeard: Date.now(), silenceMs: 0, rebuilding: false };
  live.silenceMs = 2 * sub.publishingInterval * sub.maxKeepAliveCount + settings.silenceMarginMs;
  const heard = (): void => {
    live.lastHeard = Date.now();
  };
  sub.on('keepalive', heard);
  sub.on('received_notifications', heard);
  await monitorTags(sub, monitorCalls(tags, settings.maxItemsPerCall), settings.parallelCalls, hooks);
  heard();
  return live;
}

function createSubscription(session: ClientSession, tags: readonly TagPlan[], settings: SubscriptionSettings): Promise<ClientSubscription> {
  const fastest = Math.min(...tags.map((t) => t.samplingIntervalMs));
  const publishingInterval = Math.max(settings.minPublishingIntervalMs, fastest);
  const keepAliveCount = Math.max(1, Math.ceil(settings.keepAliveMs / publishingInterval));
  return session.createSubscription2({
    requestedPublishingInterval: publishingInterval,
    requestedMaxKeepAliveCount: keepAliveCount,
    requestedLifetimeCount: Math.max(keepAliveCount * 3, Math.ceil(settings.sessionTimeoutMs / publishingInterval)),
    // bounded responses: a response is decoded whole, so 50,000 notifications at once would all be
    // alive together and outgrow V8's young generation (memory up, GC time up)
    maxNotificationsPerPublish: settings.maxNotificationsPerPublish,
    publishingEnabled: true,
    priority: 10,
  });
}

/** The calls, `parallelCalls` in flight at once; each tag learns the server's verdict on its item. */
async function monitorTags(sub: ClientSubscription, chunks: readonly TagPlan[][], parallelCalls: number, hooks: SubscriptionHooks): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length && !hooks.stopping()) {
      const chunk = chunks[next++] as TagPlan[];
      const first = chunk[0] as TagPlan;
      const group = await sub.monitorItems(
        chunk.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })),
        first.params,
        TimestampsToReturn.Both,
      );
      group.monitoredItems.forEach((item, i) => {
        const tag = chunk[i];
        if (tag) tag.status = item.statusCode.name;
      });
      group.on('changed', (_item, dv: DataValue, index: number) => {
        const tag = chunk[index];
        if (tag) hooks.onValue(tag, dv);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelCalls, chunks.length) }, worker));
}

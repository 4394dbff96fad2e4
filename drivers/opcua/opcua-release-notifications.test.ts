/**
 * Dispatched notifications are released (opcua-release-notifications.ts): against a real
 * node-opcua server, every value still reaches its monitored item, and afterwards the
 * response's DataChangeNotifications hold no items, while an unwrapped subscription's keep
 * theirs. Fails when a node-opcua upgrade moves the hook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributeIds, OPCUAClient, TimestampsToReturn, type ClientSession, type ClientSubscription, type NotificationMessage } from 'node-opcua-client';
import { OpcuaTestServer, tagNodeId } from '../../test/helpers/opcua-test-server.ts';
import { waitFor } from '../../test/helpers/index.ts';
import { releaseNotificationsAfterDispatch } from './opcua-release-notifications.ts';

const TAGS = 50;

describe('releasing dispatched OPC UA notifications', () => {
  let dir: string;
  let server: OpcuaTestServer;
  let client: OPCUAClient;
  let session: ClientSession;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sfa-opcua-release-'));
    server = new OpcuaTestServer({ pkiDir: join(dir, 'server-pki'), tags: TAGS, changeEveryMs: 100 });
    await server.start();
    client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    await client.connect(server.endpoint);
    session = await client.createSession();
  });

  afterAll(async () => {
    await session?.close(true).catch(() => undefined);
    await client?.disconnect().catch(() => undefined);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const itemsHeld = (messages: NotificationMessage[]): number =>
    messages.reduce((n, m) => n + (m.notificationData ?? []).reduce((k, d) => k + ((d as { monitoredItems?: unknown[] | null }).monitoredItems?.length ?? 0), 0), 0);

  /** a subscription on every tag: the notification messages it received, and the values its items were told */
  async function watch(release: boolean): Promise<{ sub: ClientSubscription; messages: NotificationMessage[]; values: number[]; received: () => number }> {
    const sub = await session.createSubscription2({ requestedPublishingInterval: 100, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 100, publishingEnabled: true });
    if (release) expect(releaseNotificationsAfterDispatch(sub)).toBe(true);
    const messages: NotificationMessage[] = [];
    const values: number[] = [];
    let received = 0;
    sub.on('received_notifications', (m: NotificationMessage) => {
      messages.push(m);
      received += itemsHeld([m]); // before dispatch
    });
    const group = await sub.monitorItems(
      Array.from({ length: TAGS }, (_, i) => ({ nodeId: tagNodeId(i), attributeId: AttributeIds.Value })),
      { samplingInterval: 100, queueSize: 1, discardOldest: true },
      TimestampsToReturn.Both,
    );
    group.on('changed', (_item, dv) => values.push(dv.value.value as number));
    return { sub, messages, values, received: () => received };
  }

  it('reports false, and changes nothing, on a subscription without the hook (a node-opcua that moved it)', () => {
    const other = { on: () => undefined };
    expect(releaseNotificationsAfterDispatch(other as unknown as ClientSubscription)).toBe(false);
    expect(Object.keys(other)).toEqual(['on']);
  });

  it('every value still reaches its item; the dispatched lists are empty, an unwrapped subscription keeps them', async () => {
    const released = await watch(true);
    const kept = await watch(false);
    try {
      await waitFor(() => released.values.length >= 5 * TAGS && kept.values.length >= 5 * TAGS, 15_000, 'values on both subscriptions');
      await released.sub.terminate();
      await kept.sub.terminate();
      await new Promise((r) => setTimeout(r, 50)); // the last response dispatched
      expect(released.values.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      expect(released.values.length).toBe(released.received());
      expect(released.messages.length).toBeGreaterThan(0);
      expect(itemsHeld(released.messages)).toBe(0);
      // the control: node-opcua alone keeps every item of every response
      expect(itemsHeld(kept.messages)).toBeGreaterThanOrEqual(kept.values.length);
    } finally {
      await released.sub.terminate().catch(() => undefined);
      await kept.sub.terminate().catch(() => undefined);
    }
  });
});

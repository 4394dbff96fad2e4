/**
 * The raw limit for test/bench/opcua.bench.ts: a bare node-opcua client (no agent, no storage)
 * monitoring tags 0…N-1 of an OpcuaTestServer in chunks of 1000. Args: endpoint, N, steady ms.
 * Plain JavaScript run by plain Node, as the agent's bundle is: no TypeScript loader in the figure.
 * Sends { subscribeMs, cpuPerNotificationUs, notificationsPerS, rssMb } over IPC and exits.
 */
import { AttributeIds, OPCUAClient, TimestampsToReturn } from 'node-opcua-client';
import { readFileSync } from 'node:fs';

const [endpoint = '', nArg = '0', steadyArg = '10000'] = process.argv.slice(2);
const n = Number(nArg);
const tagNodeId = (i) => `ns=1;s=Tag.${i}`; // as opcua-test-server.ts
const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 } });
const t0 = performance.now();
await client.connect(endpoint);
const session = await client.createSession();
const sub = await session.createSubscription2({ requestedPublishingInterval: 1000, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 60, maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 10 });
let notifications = 0;
const groups = [];
for (let i = 0; i < n; i += 1000) {
  const items = Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ nodeId: tagNodeId(i + k), attributeId: AttributeIds.Value }));
  const g = await sub.monitorItems(items, { samplingInterval: 1000, queueSize: 1, discardOldest: true }, TimestampsToReturn.Both);
  g.on('changed', () => {
    notifications++;
  });
  groups.push(g);
}
const subscribeMs = performance.now() - t0;
// the parent starts the server's changes, then says go
process.send?.({ type: 'subscribed', subscribeMs });
await new Promise((r) => process.once('message', r));
await new Promise((r) => setTimeout(r, 3000));
const n0 = notifications;
if (process.env.SFA_BENCH_MARK) process.stdout.write('@@WINDOW START\n');
const c0 = process.cpuUsage();
const w0 = performance.now();
await new Promise((r) => setTimeout(r, Number(steadyArg)));
const c = process.cpuUsage(c0);
if (process.env.SFA_BENCH_MARK) process.stdout.write('@@WINDOW END\n');
const got = notifications - n0;
const wall = (performance.now() - w0) / 1000;
const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'NaN') / 1024;
process.send?.({ type: 'result', subscribeMs, cpuPerNotificationUs: (c.user + c.system) / Math.max(1, got), notificationsPerS: got / wall, rssMb });
await session.close(true).catch(() => undefined);
await client.disconnect().catch(() => undefined);
process.exit(0);

/**
 * OPC UA source: one session, subscriptions of monitored items, each mapped to
 * (machine, signal). Read-only: the driver only creates sessions, subscriptions and
 * monitored items; it never calls Write, Call or node management services.
 */
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  type ClientSession,
  type DataValue,
  type ReadValueIdOptions,
} from 'node-opcua';
import type { Quality, Sample, SampleValue } from '../../agent/model/index.ts';
import type { OpcuaSourceConfig } from '../../config/schema.ts';
import type { Driver, DriverContext } from '../driver.ts';

export interface OpcuaDriverOptions {
  applicationName: string;
  /** items per CreateMonitoredItems call (many PLC servers refuse more than 1000) */
  monitoredItemChunk: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const OPCUA_DRIVER_DEFAULTS: OpcuaDriverOptions = {
  applicationName: 'shopfloor-agent',
  monitoredItemChunk: 1000,
  initialDelayMs: 500,
  maxDelayMs: 10_000,
};

interface TagPlan {
  nodeId: string;
  machine: string;
  signal: string;
  scale: number | undefined;
  samplingIntervalMs: number;
}

export class OpcuaDriver implements Driver {
  readonly type = 'opcua';
  readonly id: string;
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private readonly tags: TagPlan[];
  private readonly options: OpcuaDriverOptions;
  private stopping = false;

  constructor(
    private readonly config: OpcuaSourceConfig,
    options: Partial<OpcuaDriverOptions> = {},
  ) {
    this.id = config.id;
    this.options = { ...OPCUA_DRIVER_DEFAULTS, ...options };
    this.tags = config.tags.map((t) => ({
      nodeId: t.nodeId,
      machine: t.machine,
      signal: t.signal,
      scale: t.scale,
      samplingIntervalMs: t.samplingIntervalMs ?? config.samplingIntervalMs,
    }));
  }

  async start(ctx: DriverContext): Promise<void> {
    this.stopping = false;
    ctx.setState('connecting');
    const client = OPCUAClient.create({
      applicationName: this.options.applicationName,
      endpointMustExist: false,
      keepSessionAlive: true,
      securityMode: MessageSecurityMode[this.config.securityMode],
      securityPolicy: SecurityPolicy[this.config.securityPolicy],
      connectionStrategy: { initialDelay: this.options.initialDelayMs, maxDelay: this.options.maxDelayMs, maxRetry: Number.MAX_SAFE_INTEGER },
    });
    this.client = client;
    client.on('connection_lost', () => {
      ctx.setState('disconnected', 'connection lost');
      this.markAllBad(ctx);
    });
    client.on('connection_reestablished', () => ctx.setState('connected'));
    client.on('backoff', (retry: number, delay: number) => ctx.setState('connecting', `retry ${retry} in ${delay} ms`));
    // Connecting may take long (server absent): do it in the background, supervised.
    this.connect(ctx).catch((err: unknown) => {
      if (!this.stopping) ctx.setState('error', (err as Error).message);
    });
  }

  private async connect(ctx: DriverContext): Promise<void> {
    const client = this.client;
    if (!client) return;
    await client.connect(this.config.endpoint);
    if (this.stopping) return;
    const auth = this.config.auth;
    const session = await client.createSession(
      auth.type === 'username' ? { type: 1, userName: auth.username, password: auth.password } : undefined,
    );
    this.session = session;
    if (this.stopping) return;
    const interval = Math.max(50, Math.min(...this.tags.map((t) => t.samplingIntervalMs)));
    const subscription = ClientSubscription.create(session, {
      requestedPublishingInterval: interval,
      requestedLifetimeCount: 120,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });
    this.subscription = subscription;
    for (let i = 0; i < this.tags.length; i += this.options.monitoredItemChunk) {
      const chunk = this.tags.slice(i, i + this.options.monitoredItemChunk);
      const items: ReadValueIdOptions[] = chunk.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value }));
      const group = ClientMonitoredItemGroup.create(
        subscription,
        items,
        { samplingInterval: chunk[0]?.samplingIntervalMs ?? interval, discardOldest: true, queueSize: 10 },
        TimestampsToReturn.Both,
      );
      group.on('changed', (_item, dataValue: DataValue, index: number) => {
        const tag = chunk[index];
        if (tag) ctx.emit([toSample(tag, dataValue)]);
      });
    }
    ctx.setState('connected');
  }

  private markAllBad(ctx: DriverContext): void {
    const now = Date.now();
    ctx.emit(this.tags.map((t) => ({ machine: t.machine, signal: t.signal, ts: now, value: null, quality: 'bad' as const })));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const { client, session, subscription } = this;
    this.client = this.session = this.subscription = undefined;
    const withTimeout = (p: Promise<unknown>, ms: number): Promise<unknown> =>
      Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
    if (subscription) await withTimeout(subscription.terminate(), 1000);
    if (session) await withTimeout(session.close(), 1000);
    if (client) await withTimeout(client.disconnect(), 2000);
  }
}

function qualityOf(dv: DataValue): Quality {
  const severity = dv.statusCode.value >>> 30;
  return severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
}

function toSample(tag: TagPlan, dv: DataValue): Sample {
  const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? Date.now();
  const quality = qualityOf(dv);
  let value: SampleValue = null;
  const v = dv.value;
  if (v && quality !== 'bad') {
    const raw: unknown = v.value;
    if ((v.dataType === DataType.Int64 || v.dataType === DataType.UInt64) && Array.isArray(raw) && raw.length === 2) {
      const [hi, lo] = raw as [number, number];
      value = hi * 4294967296 + lo;
    } else if (typeof raw === 'number') value = Number.isFinite(raw) ? raw : null;
    else if (typeof raw === 'boolean' || typeof raw === 'string') value = raw;
    if (typeof value === 'number' && tag.scale !== undefined) value *= tag.scale;
  }
  return { machine: tag.machine, signal: tag.signal, ts, value, quality: value === null && quality === 'good' ? 'bad' : quality };
}

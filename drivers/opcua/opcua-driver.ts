/**
 * OPC UA source: a supervised session with subscriptions of monitored items, each mapped to
 * (machine, signal).
 *
 * Read-only: the driver uses only GetEndpoints, CreateSession/ActivateSession/CloseSession,
 * CreateSubscription/DeleteSubscriptions, CreateMonitoredItems, Publish/Republish and Read
 * (the watchdog's ServerStatus probe). It never calls Write, Call or node management services.
 *
 * Resilience (on by default): one supervisor owns the connection. Every attempt uses a fresh
 * client and a fresh session with fresh subscriptions, so nothing of a broken connection is
 * reused half-way; attempts are spaced by capped exponential backoff. A session that could
 * not be closed when its connection broke (a network cut) is re-activated on the next
 * connection and closed, so the server never accumulates sessions from the agent. A
 * watchdog rebuilds a subscription silent past its keep-alive, or the whole connection when
 * the server does not answer either.
 */
import {
  AttributeIds,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  StatusCodes,
  TimestampsToReturn,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type MonitoringParametersOptions,
  type OPCUAClient,
} from 'node-opcua-client';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { resolve } from 'node:path';
import type { Sample } from '../../agent/model/index.ts';
import type { AgentError } from '../../agent/errors.ts';
import type { OpcuaSourceConfig } from './opcua-schema.ts';
import type { Driver, DriverContext, TagProblem, TagProblemReporter } from '../driver.ts';
import { classifyFailure, createClient, userIdentity } from './opcua-connection.ts';
import { openCertificateManager } from './opcua-pki.ts';
import { convertDataValue, type ValueIssue } from './opcua-values.ts';
import { installFastDateTimeDecoding } from './opcua-fast-datetime.ts';
import { releaseNotificationsAfterDispatch } from './opcua-release-notifications.ts';

// two DateTimes per notification: decoded exactly without 64-bit objects (opcua-fast-datetime.ts)
installFastDateTimeDecoding();

export interface OpcuaDriverOptions {
  applicationName: string;
  /** the PKI folder (agent.dataDir/pki) */
  pkiDir: string;
  /** how often the watchdog looks at its subscriptions, ms */
  watchdogTickMs: number;
  /** CreateMonitoredItems calls in flight at once per subscription */
  parallelCalls: number;
  /** stop() waits this long for the supervisor to tear the connection down, ms */
  stopTimeoutMs: number;
  /** the connect deadline (the source's connectTimeoutMs) grows by this per tag: subscribing many items takes time, ms */
  connectMsPerTag: number;
  /** each of re-activating and closing a session a broken connection left behind, ms */
  orphanCloseTimeoutMs: number;
  /** the fastest publishing interval asked of the server, whatever the tags' sampling intervals, ms */
  minPublishingIntervalMs: number;
  /** a subscription is silent after two keep-alive periods plus this margin, ms */
  silenceMarginMs: number;
  /** the watchdog's ServerStatus read, at most the source's keepAliveMs, ms */
  probeTimeoutMs: number;
  /** deleting a silent subscription before it is rebuilt, ms */
  deleteSubscriptionTimeoutMs: number;
  /** each of CloseSession and disconnect when a connection is torn down, ms */
  closeTimeoutMs: number;
}

export const OPCUA_DRIVER_DEFAULTS: OpcuaDriverOptions = {
  applicationName: 'shopfloor-agent',
  pkiDir: './data/pki',
  watchdogTickMs: 1000,
  parallelCalls: 1,
  stopTimeoutMs: 8000,
  connectMsPerTag: 2,
  orphanCloseTimeoutMs: 5000,
  minPublishingIntervalMs: 50,
  silenceMarginMs: 1000,
  probeTimeoutMs: 5000,
  deleteSubscriptionTimeoutMs: 3000,
  closeTimeoutMs: 2000,
};

/** Everything needed per tag on the hot path, computed once at start-up. */
interface TagPlan {
  nodeId: string;
  machine: string;
  signal: string;
  scale: number | undefined;
  samplingIntervalMs: number;
  params: MonitoringParametersOptions;
  /** tags with equal keys share one CreateMonitoredItems call */
  paramsKey: string;
  /** the server's verdict on the monitored item: "Good", "BadNodeIdUnknown" … */
  status: string;
  /** issues already logged for this tag (created on the first one: most tags never have any) */
  warned: Set<ValueIssue> | undefined;
}

interface LiveSubscription {
  tags: TagPlan[];
  sub: ClientSubscription;
  lastHeard: number;
  silenceMs: number;
  rebuilding: boolean;
}

interface Live {
  client: OPCUAClient;
  session: ClientSession | undefined;
  subs: LiveSubscription[];
  /** resolves with the reason the connection must be rebuilt */
  broken: Promise<string>;
  breakWith: (reason: string) => void;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((res) => {
    const t = setTimeout(res, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      res();
    }, { once: true });
  });

/** Resolves with the promise's value, or rejects after ms (the promise keeps running, its failure ignored). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        res(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        rej(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export class OpcuaDriver implements Driver, TagProblemReporter {
  readonly type = 'opcua';
  readonly id: string;
  private readonly tags: TagPlan[];
  private readonly options: OpcuaDriverOptions;
  private readonly pkiDir: string;
  private abort = new AbortController();
  private supervisor: Promise<void> | undefined;
  private live: Live | undefined;
  private cm: OPCUACertificateManager | undefined;
  /** a session whose connection broke before it could be closed */
  private orphan: ClientSession | undefined;
  private pending: Sample[] = [];
  private flushScheduled = false;
  /** warned that node-opcua offers no hook to release dispatched notifications */
  private releaseWarned = false;
  private lastProblem = '';
  /** the connection went silent (not closed): its session may live on at the server */
  private silentBreak = false;
  /** counters, for tests and logs */
  readonly counters = { connects: 0, subscriptionRebuilds: 0, orphansClosed: 0 };

  constructor(
    private readonly config: OpcuaSourceConfig,
    options: Partial<OpcuaDriverOptions> = {},
  ) {
    this.id = config.id;
    this.options = { ...OPCUA_DRIVER_DEFAULTS, ...options };
    this.pkiDir = resolve(this.options.pkiDir);
    const sharedParams = new Map<string, MonitoringParametersOptions>();
    this.tags = config.tags.map((t) => {
      const samplingIntervalMs = t.samplingIntervalMs ?? config.samplingIntervalMs;
      const deadband = t.deadband ?? config.deadband;
      const params: MonitoringParametersOptions = {
        samplingInterval: samplingIntervalMs,
        queueSize: t.queueSize ?? config.queueSize,
        discardOldest: t.discardOldest ?? config.discardOldest,
        ...(deadband && deadband.value > 0
          ? {
              filter: new DataChangeFilter({
                trigger: DataChangeTrigger.StatusValue,
                deadbandType: deadband.type === 'absolute' ? DeadbandType.Absolute : DeadbandType.Percent,
                deadbandValue: deadband.value,
              }),
            }
          : {}),
      };
      const paramsKey = JSON.stringify([params.samplingInterval, params.queueSize, params.discardOldest, deadband?.type, deadband?.value]);
      // tags with equal settings share one parameters object (tens of thousands of tags)
      let shared = sharedParams.get(paramsKey);
      if (shared === undefined) {
        shared = params;
        sharedParams.set(paramsKey, params);
      }
      return { nodeId: t.nodeId, machine: t.machine, signal: t.signal, scale: t.scale, samplingIntervalMs, params: shared, paramsKey, status: 'Pending', warned: undefined };
    });
  }

  tagProblems(): readonly TagProblem[] {
    const out: TagProblem[] = [];
    for (const t of this.tags) if (t.status !== 'Good' && t.status !== 'Pending') out.push({ tag: t.nodeId, status: t.status });
    return out;
  }

  async start(ctx: DriverContext): Promise<void> {
    this.abort = new AbortController();
    ctx.setState('connecting');
    this.cm = await openCertificateManager(this.pkiDir, this.config.autoAcceptUnknownCertificates);
    if (this.config.autoAcceptUnknownCertificates) {
      ctx.log.warn(
        { endpoint: this.config.endpoint, pki: this.pkiDir },
        'autoAcceptUnknownCertificates is ON: any server certificate is trusted without asking, so a machine in the middle would be trusted too. Turn it off once the servers are trusted (shopfloor-agent trust list).',
      );
    }
    // Connecting may take long (server absent): the supervisor runs in the background.
    this.supervisor = this.supervise(ctx).catch((err: unknown) => {
      ctx.log.error({ err }, 'OPC UA supervisor stopped unexpectedly');
      ctx.setState('error', (err as Error).message);
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    const live = this.live;
    if (live) live.breakWith('stopping');
    await within(this.supervisor ?? Promise.resolve(), this.options.stopTimeoutMs, 'stop').catch(() => undefined);
    this.supervisor = undefined;
    const cm = this.cm;
    this.cm = undefined;
    if (cm) await cm.dispose().catch(() => undefined);
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async supervise(ctx: DriverContext): Promise<void> {
    const { minMs, maxMs } = this.config.reconnect;
    let attempt = 0;
    while (!this.stopping) {
      try {
        const live = await this.open(ctx);
        attempt = 0;
        this.counters.connects++;
        this.lastProblem = '';
        ctx.setState('connected');
        const reason = await live.broken;
        if (!this.stopping) {
          // held values stop here (DESIGN.md §4): one bad-quality sample per tag, before the slow teardown
          this.markAllBad(ctx);
          ctx.log.warn({ reason }, 'OPC UA connection lost; reconnecting');
          ctx.setState('disconnected', reason);
        }
      } catch (err) {
        if (this.stopping) break;
        const e = await classifyFailure(err, this.config, this.cmOrThrow(), this.pkiDir);
        this.report(ctx, e);
      } finally {
        await this.close(!this.stopping && this.silentBreak);
        this.silentBreak = false;
      }
      if (this.stopping) break;
      const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
      attempt++;
      await sleep(delay * (0.8 + Math.random() * 0.4), this.abort.signal);
    }
  }

  /** A failed attempt: state and one log line per distinct problem, never one per retry. */
  private report(ctx: DriverContext, e: AgentError): void {
    const key = `${e.code}:${e.message}`;
    if (key === this.lastProblem) return;
    this.lastProblem = key;
    if (e.code === 'SFA_ERR_SOURCE_CONNECT') {
      ctx.log.warn({ code: e.code, hint: e.hint }, e.message);
      ctx.setState('disconnected', e.message);
    } else {
      ctx.log.error({ code: e.code, hint: e.hint }, e.message);
      ctx.setState('error', e.message);
    }
  }

  private cmOrThrow(): OPCUACertificateManager {
    if (!this.cm) throw new Error('driver not started');
    return this.cm;
  }

  private async open(ctx: DriverContext): Promise<Live> {
    const cfg = this.config;
    const identity = userIdentity(cfg.auth);
    const client = createClient(cfg, {
      applicationName: this.options.applicationName,
      certificateManager: this.cmOrThrow(),
      sessionTimeoutMs: cfg.sessionTimeoutMs,
      requestTimeoutMs: cfg.connectTimeoutMs,
    });
    let breakWith: (reason: string) => void = () => undefined;
    const broken = new Promise<string>((res) => {
      breakWith = res;
    });
    const live: Live = { client, session: undefined, subs: [], broken, breakWith };
    this.live = live;
    client.on('connection_lost', () => live.breakWith('connection lost'));
    client.on('close', () => live.breakWith('connection closed'));
    const deadline = within(this.establish(ctx, live, identity), cfg.connectTimeoutMs + this.tags.length * this.options.connectMsPerTag, 'connect, session and subscriptions');
    await Promise.race([deadline, broken.then((r) => Promise.reject(new Error(r)))]);
    return live;
  }

  private async establish(ctx: DriverContext, live: Live, identity: ReturnType<typeof userIdentity>): Promise<void> {
    await live.client.connect(this.config.endpoint);
    if (this.stopping) throw new Error('stopping');
    await this.closeOrphan(ctx, live.client);
    const session = await live.client.createSession(identity);
    live.session = session;
    session.on('session_closed', () => live.breakWith('session closed by the server'));
    const max = this.config.maxItemsPerSubscription;
    for (let i = 0; i < this.tags.length; i += max) {
      if (this.stopping) throw new Error('stopping');
      live.subs.push(await this.subscribe(ctx, session, this.tags.slice(i, i + max)));
    }
    this.reportTagStatus(ctx);
    this.watch(ctx, live);
  }

  /** A session left behind by a broken connection: take it over on the new channel and close it. */
  private async closeOrphan(ctx: DriverContext, client: OPCUAClient): Promise<void> {
    const orphan = this.orphan;
    this.orphan = undefined;
    if (!orphan) return;
    try {
      await within(client.reactivateSession(orphan), this.options.orphanCloseTimeoutMs, 'reactivate the previous session');
      await within(orphan.close(true), this.options.orphanCloseTimeoutMs, 'close the previous session');
      this.counters.orphansClosed++;
      ctx.log.info({}, 'closed the session left behind by the broken connection');
    } catch {
      // the server no longer knows it (restarted, or it timed out): nothing left to close
    }
  }

  private async subscribe(ctx: DriverContext, session: ClientSession, tags: TagPlan[]): Promise<LiveSubscription> {
    const fastest = Math.min(...tags.map((t) => t.samplingIntervalMs));
    const publishingInterval = Math.max(this.options.minPublishingIntervalMs, fastest);
    const keepAliveCount = Math.max(1, Math.ceil(this.config.keepAliveMs / publishingInterval));
    const sub = await session.createSubscription2({
      requestedPublishingInterval: publishingInterval,
      requestedMaxKeepAliveCount: keepAliveCount,
      requestedLifetimeCount: Math.max(keepAliveCount * 3, Math.ceil(this.config.sessionTimeoutMs / publishingInterval)),
      // bounded responses: a response is decoded whole, so 50,000 notifications at once would all be
      // alive together and outgrow V8's young generation (memory up, GC time up)
      maxNotificationsPerPublish: this.config.maxNotificationsPerPublish,
      publishingEnabled: true,
      priority: 10,
    });
    // decoded notifications die young instead of being promoted with their response (opcua-release-notifications.ts)
    if (!releaseNotificationsAfterDispatch(sub) && !this.releaseWarned) {
      this.releaseWarned = true;
      ctx.log.warn({}, 'this node-opcua version offers no hook to release dispatched notifications: the driver works, with more garbage collection');
    }
    const live: LiveSubscription = { tags, sub, lastHeard: Date.now(), silenceMs: 0, rebuilding: false };
    live.silenceMs = 2 * sub.publishingInterval * sub.maxKeepAliveCount + this.options.silenceMarginMs;
    const heard = (): void => {
      live.lastHeard = Date.now();
    };
    sub.on('keepalive', heard);
    sub.on('received_notifications', heard);
    // one CreateMonitoredItems call per chunk of tags with the same parameters (≤ maxItemsPerCall)
    const byParams = new Map<string, TagPlan[]>();
    for (const t of tags) {
      const list = byParams.get(t.paramsKey);
      if (list) list.push(t);
      else byParams.set(t.paramsKey, [t]);
    }
    const chunks: TagPlan[][] = [];
    for (const list of byParams.values()) {
      for (let i = 0; i < list.length; i += this.config.maxItemsPerCall) chunks.push(list.slice(i, i + this.config.maxItemsPerCall));
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunks.length && !this.stopping) {
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
          if (tag) this.onValue(ctx, tag, dv);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.parallelCalls, chunks.length) }, worker));
    heard();
    return live;
  }

  private reportTagStatus(ctx: DriverContext): void {
    const problems = this.tagProblems();
    if (problems.length > 0) {
      ctx.log.warn(
        { count: problems.length, tags: problems.slice(0, 20) },
        `${problems.length} of ${this.tags.length} OPC UA tags cannot be monitored (see /healthz sources[].problems); the others deliver. Check the nodeIds with shopfloor-agent browse`,
      );
    }
  }

  /** Subscriptions must report at least every keep-alive; silence means the server lost them or the network went quiet. */
  private watch(ctx: DriverContext, live: Live): void {
    const timer = setInterval(() => {
      const now = Date.now();
      for (const s of live.subs) {
        if (s.rebuilding || now - s.lastHeard <= s.silenceMs) continue;
        s.rebuilding = true;
        this.probeAndRebuild(ctx, live, s)
          .catch((err: unknown) => live.breakWith(`watchdog failed: ${(err as Error).message}`))
          .finally(() => {
            s.rebuilding = false;
          });
      }
    }, this.options.watchdogTickMs);
    timer.unref();
    void live.broken.then(() => clearInterval(timer));
  }

  private async probeAndRebuild(ctx: DriverContext, live: Live, s: LiveSubscription): Promise<void> {
    const session = live.session;
    if (!session) return;
    try {
      const dv = await within(session.read({ nodeId: 'i=2258', attributeId: AttributeIds.Value }), Math.min(this.options.probeTimeoutMs, this.config.keepAliveMs), 'ServerStatus probe');
      if (dv.statusCode.value !== StatusCodes.Good.value) throw new Error(dv.statusCode.name);
    } catch (err) {
      this.silentBreak = true;
      live.breakWith(`no keep-alive for ${Math.round((Date.now() - s.lastHeard) / 1000)} s and the server does not answer (${(err as Error).message})`);
      return;
    }
    // the session answers but the subscription is silent: rebuild it
    ctx.log.warn({ tags: s.tags.length, silentMs: Date.now() - s.lastHeard }, 'OPC UA subscription silent past its keep-alive; rebuilding it');
    this.counters.subscriptionRebuilds++;
    await within(s.sub.terminate(), this.options.deleteSubscriptionTimeoutMs, 'delete the silent subscription').catch(() => undefined);
    try {
      const fresh = await this.subscribe(ctx, session, s.tags);
      const i = live.subs.indexOf(s);
      if (i >= 0) live.subs[i] = fresh;
    } catch (err) {
      live.breakWith(`cannot rebuild a silent subscription: ${(err as Error).message}`);
    }
  }

  private onValue(ctx: DriverContext, tag: TagPlan, dv: DataValue): void {
    const { sample, issue } = convertDataValue(tag, dv, Date.now());
    if (issue) {
      tag.warned ??= new Set();
      if (!tag.warned.has(issue)) {
        tag.warned.add(issue);
        const what =
          issue === 'array'
            ? 'is an array: skipped (map one element per tag with an indexed node, if the server offers one)'
            : issue === 'structure'
              ? 'is a structure: skipped (map its fields, which are variables of their own)'
              : 'is an Int64/UInt64 beyond 2^53: stored rounded with quality uncertain';
        ctx.log.warn({ nodeId: tag.nodeId, machine: tag.machine, signal: tag.signal }, `OPC UA node ${tag.nodeId} ${what}`);
      }
      if (issue !== 'inexact-int64') return;
    }
    this.pending.push(sample);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // one hand-over per publish response rather than per notification
      queueMicrotask(() => {
        this.flushScheduled = false;
        const batch = this.pending;
        this.pending = [];
        if (batch.length > 0) ctx.emit(batch);
      });
    }
  }

  private markAllBad(ctx: DriverContext): void {
    const now = Date.now();
    ctx.emit(this.tags.map((t) => ({ machine: t.machine, signal: t.signal, ts: now, value: null, quality: 'bad' as const })));
  }

  /** Tear the connection down. On a break (not a stop), a session that cannot be closed is kept as an orphan to close later. */
  private async close(keepOrphan: boolean): Promise<void> {
    const live = this.live;
    this.live = undefined;
    if (!live) return;
    live.breakWith('closing');
    if (live.session) {
      // On a break the old channel is dead or silent: a CloseSession sent on it would get lost
      // and leave the session half-closed on our side. Keep it; the next connection re-activates
      // it on its new channel and closes it there (or learns the server has forgotten it).
      if (keepOrphan) this.orphan = live.session;
      else await within(live.session.close(true), this.options.closeTimeoutMs, 'close session').catch(() => undefined);
    }
    await within(live.client.disconnect(), this.options.closeTimeoutMs, 'disconnect').catch(() => undefined);
  }
}

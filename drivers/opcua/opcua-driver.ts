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
import type { ClientSession, DataValue, OPCUAClient } from 'node-opcua-client';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { resolve } from 'node:path';
import type { Sample } from '../../agent/model/index.ts';
import type { AgentError } from '../../agent/errors.ts';
import type { OpcuaSourceConfig } from './opcua-schema.ts';
import type { Driver, DriverContext, TagProblem, TagProblemReporter } from '../driver.ts';
import { classifyFailure, createClient, userIdentity } from './opcua-connection.ts';
import { openCertificateManager } from './opcua-pki.ts';
import { convertDataValue } from './opcua-values.ts';
import { installFastDateTimeDecoding } from './opcua-fast-datetime.ts';
import { OPCUA_DRIVER_DEFAULTS, type OpcuaDriverOptions } from './opcua-driver-options.ts';
import { planTags, type TagPlan } from './opcua-tag-plan.ts';
import { subscribe, type LiveSubscription, type SubscriptionHooks } from './opcua-subscription.ts';
import { liveConnection, type Live } from './opcua-live.ts';
import { watchSubscriptions } from './opcua-watchdog.ts';
import { sleep, within } from './opcua-timing.ts';

// two DateTimes per notification: decoded exactly without 64-bit objects (opcua-fast-datetime.ts)
installFastDateTimeDecoding();

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
    this.tags = planTags(config);
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
    const live = liveConnection(client);
    this.live = live;
    const deadline = within(this.establish(ctx, live, identity), cfg.connectTimeoutMs + this.tags.length * this.options.connectMsPerTag, 'connect, session and subscriptions');
    await Promise.race([deadline, live.broken.then((r) => Promise.reject(new Error(r)))]);
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

  private subscribe(ctx: DriverContext, session: ClientSession, tags: TagPlan[]): Promise<LiveSubscription> {
    const { config: c, options: o } = this;
    const hooks: SubscriptionHooks = {
      stopping: () => this.stopping,
      onValue: (tag, dv) => this.onValue(ctx, tag, dv),
      noReleaseHook: () => {
        if (this.releaseWarned) return;
        this.releaseWarned = true;
        ctx.log.warn({}, 'this node-opcua version offers no hook to release dispatched notifications: the driver works, with more garbage collection');
      },
    };
    return subscribe(session, tags, {
      keepAliveMs: c.keepAliveMs,
      sessionTimeoutMs: c.sessionTimeoutMs,
      maxNotificationsPerPublish: c.maxNotificationsPerPublish,
      maxItemsPerCall: c.maxItemsPerCall,
      minPublishingIntervalMs: o.minPublishingIntervalMs,
      silenceMarginMs: o.silenceMarginMs,
      parallelCalls: o.parallelCalls,
    }, hooks);
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

  private watch(ctx: DriverContext, live: Live): void {
    const { watchdogTickMs, probeTimeoutMs, deleteSubscriptionTimeoutMs } = this.options;
    watchSubscriptions(live, {
      log: ctx.log,
      settings: { watchdogTickMs, probeTimeoutMs, deleteSubscriptionTimeoutMs, keepAliveMs: this.config.keepAliveMs },
      resubscribe: (session, tags) => this.subscribe(ctx, session, tags),
      rebuilding: () => {
        this.counters.subscriptionRebuilds++;
      },
      silent: () => {
        this.silentBreak = true;
      },
    });
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

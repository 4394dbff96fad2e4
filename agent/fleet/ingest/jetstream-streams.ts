/**
 * The JetStream layout the fleet relies on, created at start-up when missing and checked when
 * present (config `broker.jetstream`). nats-server 2.9 gives a consumer one filter subject, so
 * what every worker must see and what the workers split live in two streams:
 *
 * - work stream (`stream`): `{p}.*.*.samples` and `{p}.*.*.hours.*`, one durable pull consumer
 *   per group (explicit ack) shared by all its workers;
 * - state stream (`stateStream`): `{p}.*.*.status` and `{p}.*.*.plant`, one message kept per
 *   subject (an agent's latest, like a retained MQTT message), read whole by every worker.
 *
 * A setting NATS can change on a live stream or consumer (subjects, limits, de-dup window, ack
 * wait, max ack pending) is updated to the config; one it cannot (replicas, retention, storage,
 * a consumer's filter or policies) stops the start with an error that names it.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, ReplayPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { ConsumerConfig, ConsumerInfo, JetStreamManager, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import type { JetStreamConfig } from '../../../config/fleet-schema.ts';
import { AgentError } from '../../errors.ts';

const NS_PER_S = 1_000_000_000;

export interface JetStreamLayout {
  work: Partial<StreamConfig> & { name: string; subjects: string[] };
  state: Partial<StreamConfig> & { name: string; subjects: string[] };
  consumer: Partial<ConsumerConfig> & { durable_name: string };
}

/** NATS's MQTT listener maps topic `a/b/c` to subject `a.b.c` (and refuses "." in topics). */
export function subjectOf(topic: string): string {
  return topic.replaceAll('/', '.');
}

export function topicOf(subject: string): string {
  return subject.replaceAll('.', '/');
}

export function jetstreamLayout(topicPrefix: string, group: string, c: JetStreamConfig): JetStreamLayout {
  const p = subjectOf(topicPrefix);
  const common = {
    num_replicas: c.replicas,
    storage: c.storage === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
  };
  return {
    work: {
      ...common,
      name: c.stream,
      subjects: [`${p}.*.*.samples`, `${p}.*.*.hours.*`],
      retention: c.retention === 'interest' ? RetentionPolicy.Interest : c.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
      max_age: c.maxAgeS * NS_PER_S,
      max_bytes: c.maxBytes,
      duplicate_window: c.duplicateWindowS * NS_PER_S,
    },
    state: {
      ...common,
      name: c.stateStream,
      subjects: [`${p}.*.*.status`, `${p}.*.*.plant`],
      retention: RetentionPolicy.Limits,
      max_msgs_per_subject: 1,
      // an agent's last status and plant description stay however long it is silent
      max_age: 0,
      duplicate_window: Math.min(c.duplicateWindowS, 120) * NS_PER_S,
    },
    consumer: {
      durable_name: group,
      description: 'shopfloor fleet workers of this group (one shared pull consumer)',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      ack_wait: c.ackWaitS * NS_PER_S,
      max_ack_pending: c.maxAckPending,
      max_deliver: -1,
    },
  };
}

/** The stream or consumer is not there (never created, or deleted, or lost with a memory store). */
export function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound);
}

function brokerError(message: string, cause?: unknown): AgentError {
  return new AgentError('SFA_ERR_FLEET_BROKER', message, cause === undefined ? undefined : { cause });
}

/** A stream or consumer that exists with settings NATS cannot change: trying again cannot help. */
export class LayoutRefused extends AgentError {
  constructor(message: string) {
    super('SFA_ERR_FLEET_BROKER', message);
  }
}

const sameSet = (a: readonly string[] | undefined, b: readonly string[]): boolean => a !== undefined && a.length === b.length && b.every((x) => a.includes(x));

/** Creates the stream or brings a present one to `want`; throws naming a setting NATS cannot change. */
async function ensureStream(jsm: JetStreamManager, want: JetStreamLayout['work']): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(want.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return jsm.streams.add(want);
  }
  const have = info.config;
  const fixed = (['num_replicas', 'retention', 'storage'] as const).filter((k) => want[k] !== undefined && have[k] !== want[k]);
  if (fixed.length) {
    const diff = fixed.map((k) => `${k} is ${String(have[k])}, the config wants ${String(want[k])}`).join('; ');
    throw new LayoutRefused(`JetStream stream ${want.name} exists with other settings NATS cannot change (${diff}): set broker.jetstream to match, or delete or rename the stream`);
  }
  const changed: Partial<StreamConfig> = {};
  if (!sameSet(have.subjects, want.subjects)) changed.subjects = want.subjects;
  for (const k of ['max_age', 'max_bytes', 'duplicate_window', 'max_msgs_per_subject', 'discard'] as const) {
    if (want[k] !== undefined && have[k] !== want[k]) Object.assign(changed, { [k]: want[k] });
  }
  if (Object.keys(changed).length === 0) return info;
  try {
    return await jsm.streams.update(want.name, changed);
  } catch (err) {
    throw brokerError(`JetStream stream ${want.name}: cannot update ${Object.keys(changed).join(', ')} (${(err as Error).message})`, err);
  }
}

/** Creates the group's durable consumer or brings its changeable settings to `want`. */
async function ensureConsumer(jsm: JetStreamManager, stream: string, want: JetStreamLayout['consumer']): Promise<ConsumerInfo> {
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, want.durable_name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return jsm.consumers.add(stream, want);
  }
  const have = info.config;
  const fixed: string[] = [];
  if (have.ack_policy !== want.ack_policy) fixed.push(`ack_policy is ${have.ack_policy}`);
  if (have.deliver_subject) fixed.push('it is a push consumer');
  if (have.filter_subject || have.filter_subjects?.length) fixed.push(`filter_subject is ${have.filter_subject ?? have.filter_subjects?.join(',')}`);
  if (fixed.length) {
    throw new LayoutRefused(`JetStream consumer ${want.durable_name} on ${stream} exists with other settings (${fixed.join('; ')}): delete it (nats consumer rm ${stream} ${want.durable_name}) or use another broker.group`);
  }
  if (have.ack_wait === want.ack_wait && have.max_ack_pending === want.max_ack_pending && have.max_deliver === want.max_deliver) return info;
  try {
    return await jsm.consumers.update(stream, want.durable_name, { ack_wait: want.ack_wait, max_ack_pending: want.max_ack_pending, max_deliver: want.max_deliver, description: want.description });
  } catch (err) {
    throw brokerError(`JetStream consumer ${want.durable_name} on ${stream}: cannot update ack_wait/max_ack_pending (${(err as Error).message})`, err);
  }
}

/** Brings both streams and the group's consumer to the layout (every worker does this at start; it is idempotent). */
export async function ensureJetStreamLayout(jsm: JetStreamManager, layout: JetStreamLayout): Promise<void> {
  try {
    await ensureStream(jsm, layout.work);
    await ensureStream(jsm, layout.state);
    await ensureConsumer(jsm, layout.work.name, layout.consumer);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw brokerError(`JetStream set-up failed: ${(err as Error).message} (is JetStream enabled on the server, and may this user manage streams?)`, err);
  }
}

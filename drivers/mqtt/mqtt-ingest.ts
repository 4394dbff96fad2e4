/**
 * What happens to one MQTT message, independent of the connection: size check, topic
 * routing (JSON / plain / order-event topics, then Sparkplug B), commit of its samples and
 * a dead letter for anything unusable. Exactly one outcome per message: its samples are
 * committed, or it is one dead letter, or (a valid message that carries no data for us:
 * Sparkplug commands, unmapped metrics) nothing. A message can carry both usable samples
 * and an unusable part (a Sparkplug payload with one NaN metric): then both happen.
 */
import type { DriverContext } from '../driver.ts';
import type { MqttSourceConfig } from './mqtt-schema.ts';
import { SparkplugHost, type SparkplugOutcome } from '../sparkplug/index.ts';
import { decodeMessage, decodeOrderEvent, matchTopic, prepareTopic, type PreparedTopic } from './topic-mapping.ts';

export interface IngestResult {
  /** a Sparkplug rebirth request to publish (after the commit) */
  rebirth?: { topic: string; payload: Uint8Array };
  sparkplugEvent?: SparkplugOutcome['event'];
}

export class MqttIngest {
  private readonly topics: PreparedTopic[];
  private readonly sparkplug: SparkplugHost | undefined;

  constructor(
    private readonly config: Pick<MqttSourceConfig, 'id' | 'topics' | 'sparkplug' | 'maxPayloadBytes'>,
  ) {
    this.topics = config.topics.map(prepareTopic);
    this.sparkplug = config.sparkplug ? new SparkplugHost(config.sparkplug) : undefined;
  }

  /** Every topic filter the source subscribes to. */
  filters(): string[] {
    return [...this.topics.map((t) => t.filter), ...(this.sparkplug?.filters() ?? [])];
  }

  /** Commits (synchronously) or dead-letters one message; throws only when the buffer itself fails. */
  ingest(ctx: DriverContext, topic: string, payload: Buffer, now: number): IngestResult {
    if (payload.length > this.config.maxPayloadBytes) {
      ctx.deadLetter({ source: this.config.id, topic, reason: `payload of ${payload.length} bytes exceeds maxPayloadBytes ${this.config.maxPayloadBytes}`, payload });
      return {};
    }
    for (const t of this.topics) {
      const captures = matchTopic(t.levels, topic);
      if (!captures) continue;
      let res;
      try {
        res = t.config.format === 'order-events' ? decodeOrderEvent(payload, now, t.config.machine) : decodeMessage(t, captures, payload, now);
      } catch (err) {
        // the decoders are total; this is a last line so that no payload can take the agent down
        res = { ok: false as const, reason: `decoder failed: ${(err as Error).message}` };
      }
      if (res.ok) ctx.commit(res.samples);
      else ctx.deadLetter({ source: this.config.id, topic, reason: res.reason, payload });
      return {};
    }
    if (this.sparkplug?.isSparkplugTopic(topic)) {
      let out: SparkplugOutcome;
      try {
        out = this.sparkplug.handle(topic, payload, now);
      } catch (err) {
        out = { samples: [], deadLetter: `sparkplug: decoder failed: ${(err as Error).message}` };
      }
      if (out.samples.length > 0) ctx.commit(out.samples);
      if (out.deadLetter !== undefined) ctx.deadLetter({ source: this.config.id, topic, reason: out.deadLetter, payload });
      return { ...(out.rebirth ? { rebirth: out.rebirth } : {}), ...(out.event ? { sparkplugEvent: out.event } : {}) };
    }
    ctx.deadLetter({ source: this.config.id, topic, reason: 'no topic mapping matches', payload });
    return {};
  }
}

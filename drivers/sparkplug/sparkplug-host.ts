/**
 * The Sparkplug B host side (primary-host behaviour without STATE): keeps per edge node the
 * alias map from its births and its `seq`, maps metrics to (machine, signal) by rules, asks
 * for a rebirth (NCMD "Node Control/Rebirth") on a seq gap or data before a birth, and turns
 * a death into one bad-quality sample per signal the node (or device) had delivered.
 * No I/O: the MQTT driver commits the samples, stores dead letters and publishes the request.
 */
import type { Sample } from '../../agent/model/index.ts';
import type { SparkplugConfig } from './sparkplug-schema.ts';
import { snake } from './sparkplug-names.ts';
import { SPARKPLUG_NAMESPACE, SparkplugCodec, parseSparkplugTopic, type SparkplugMetric, type SparkplugTopic } from './sparkplug-decode.ts';

export interface SparkplugOutcome {
  samples: Sample[];
  /** set when the message (or part of it) could not be used: becomes one dead letter */
  deadLetter?: string;
  /** the one message the agent may send to an edge node */
  rebirth?: { topic: string; payload: Uint8Array };
  /** what happened, for logs and tests: births, deaths, gaps */
  event?: 'birth' | 'death' | 'gap' | 'data-before-birth' | 'stale-death';
}

interface Mapping {
  machine: string;
  signal: string;
  scale: number | undefined;
}

interface NodeState {
  born: boolean;
  seq: number | undefined;
  bdSeq: number | undefined;
  /** alias → metric name, unique per edge node (node and device metrics) */
  aliases: Map<number, string>;
  lastRebirthAt: number | undefined;
  /** device ('' = node) → series keys "machine\u0000signal" it delivered since its birth */
  delivered: Map<string, Map<string, { machine: string; signal: string }>>;
}

interface PreparedRule {
  group: RegExp;
  node: RegExp;
  device: RegExp;
  metric: RegExp;
  machine: string;
  signal: string;
  scale: number | undefined;
}

export const SPARKPLUG_HOST_DEFAULTS = {
  /** mapping results cached per (group, node, device, metric); cleared when it grows past this */
  mappingCacheSize: 100_000,
};

function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('(.*)');
  return new RegExp(`^${body}$`, 's');
}

export class SparkplugHost {
  private readonly codec = new SparkplugCodec();
  private readonly rules: PreparedRule[];
  private readonly nodes = new Map<string, NodeState>();
  private readonly mappingCache = new Map<string, Mapping | null>();

  constructor(private readonly config: SparkplugConfig) {
    this.rules = config.metrics.map((r) => ({
      group: globToRegExp(r.group),
      node: globToRegExp(r.node),
      device: globToRegExp(r.device),
      metric: globToRegExp(r.metric),
      machine: r.machine,
      signal: r.signal,
      scale: r.scale,
    }));
  }

  /** Topic filters to subscribe to. */
  filters(): string[] {
    return this.config.groups.map((g) => `${SPARKPLUG_NAMESPACE}/${g}/#`);
  }

  isSparkplugTopic(topic: string): boolean {
    return topic.startsWith(`${SPARKPLUG_NAMESPACE}/`);
  }

  handle(topicName: string, payload: Uint8Array, now: number): SparkplugOutcome {
    const topic = parseSparkplugTopic(topicName);
    if (!topic) return { samples: [], deadLetter: `sparkplug: "${topicName}" is not a Sparkplug B topic (spBv1.0/group/TYPE/node[/device])` };
    // commands (ours or another host's) and host STATE are not data
    if (topic.type === 'NCMD' || topic.type === 'DCMD' || topic.type === 'STATE') return { samples: [] };
    const decoded = this.codec.decode(payload);
    if (!decoded.ok) return { samples: [], deadLetter: decoded.reason };
    const p = decoded.payload;
    const nodeKey = `${topic.group}/${topic.node}`;
    let node = this.nodes.get(nodeKey);
    if (!node) {
      node = { born: false, seq: undefined, bdSeq: undefined, aliases: new Map(), lastRebirthAt: undefined, delivered: new Map() };
      this.nodes.set(nodeKey, node);
    }
    switch (topic.type) {
      case 'NBIRTH': {
        node.born = true;
        node.seq = p.seq;
        node.aliases.clear();
        node.delivered.clear();
        node.bdSeq = undefined;
        node.lastRebirthAt = undefined;
        for (const m of p.metrics) {
          if (m.name === 'bdSeq' && typeof m.value === 'number') node.bdSeq = m.value;
          if (m.name !== undefined && m.alias !== undefined) node.aliases.set(m.alias, m.name);
        }
        return { ...this.samples(topic, node, p.metrics, p.timestamp, now), event: 'birth' };
      }
      case 'NDEATH': {
        const bd = p.metrics.find((m) => m.name === 'bdSeq')?.value;
        // a death left behind by an earlier session of the node must not kill the current one
        if (node.bdSeq !== undefined && typeof bd === 'number' && bd !== node.bdSeq) return { samples: [], event: 'stale-death' };
        const samples = this.deathSamples(node, undefined, p.timestamp ?? now);
        node.born = false;
        node.seq = undefined;
        return { samples, event: 'death' };
      }
      default:
        break;
    }
    // DBIRTH, NDATA, DDATA, DDEATH: sequenced messages of a live node
    if (!node.born) return { samples: [], ...this.rebirth(topic, node, now), event: 'data-before-birth' };
    let gap = false;
    if (p.seq !== undefined && node.seq !== undefined && p.seq !== (node.seq + 1) % 256) gap = true;
    if (p.seq !== undefined) node.seq = p.seq;
    const extra = gap ? { ...this.rebirth(topic, node, now), event: 'gap' as const } : {};
    if (topic.type === 'DBIRTH') {
      node.delivered.delete(topic.device);
      for (const m of p.metrics) if (m.name !== undefined && m.alias !== undefined) node.aliases.set(m.alias, m.name);
    }
    if (topic.type === 'DDEATH') return { samples: this.deathSamples(node, topic.device, p.timestamp ?? now), ...extra };
    const out = this.samples(topic, node, p.metrics, p.timestamp, now);
    return { ...out, ...extra, ...(topic.type === 'DBIRTH' && !gap ? { event: 'birth' as const } : {}) };
  }

  private rebirth(topic: SparkplugTopic, node: NodeState, now: number): Pick<SparkplugOutcome, 'rebirth'> {
    if (!this.config.rebirth) return {};
    if (node.lastRebirthAt !== undefined && now - node.lastRebirthAt < this.config.rebirthHoldoffS * 1000) return {};
    node.lastRebirthAt = now;
    const payload = this.codec.encode({ timestamp: now, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] });
    return { rebirth: { topic: `${SPARKPLUG_NAMESPACE}/${topic.group}/NCMD/${topic.node}`, payload } };
  }

  private samples(topic: SparkplugTopic, node: NodeState, metrics: readonly SparkplugMetric[], payloadTs: number | undefined, now: number): Pick<SparkplugOutcome, 'samples' | 'deadLetter'> {
    const samples: Sample[] = [];
    const problems: string[] = [];
    let delivered = node.delivered.get(topic.device);
    for (const m of metrics) {
      const name = m.name ?? (m.alias !== undefined ? node.aliases.get(m.alias) : undefined);
      if (name === undefined) {
        problems.push(`alias ${m.alias ?? '?'} is not in the birth certificate`);
        continue;
      }
      const map = this.map(topic, name);
      if (!map) continue;
      if (m.value === undefined) {
        problems.push(`metric "${name}" has type ${m.type}, which is not stored`);
        continue;
      }
      let value = m.value;
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) {
          problems.push(`metric "${name}" is ${value}`);
          continue;
        }
        if (map.scale !== undefined) value *= map.scale;
      }
      const ts = m.timestamp ?? payloadTs ?? now;
      samples.push({ machine: map.machine, signal: map.signal, ts, value, quality: m.isNull ? 'bad' : 'good' });
      if (!delivered) {
        delivered = new Map();
        node.delivered.set(topic.device, delivered);
      }
      delivered.set(`${map.machine}\u0000${map.signal}`, { machine: map.machine, signal: map.signal });
    }
    return problems.length > 0 ? { samples, deadLetter: `sparkplug: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}` } : { samples };
  }

  /** One bad-quality sample per signal the node (device undefined: and all its devices) delivered. */
  private deathSamples(node: NodeState, device: string | undefined, ts: number): Sample[] {
    const out: Sample[] = [];
    for (const [dev, series] of node.delivered) {
      if (device !== undefined && dev !== device) continue;
      for (const s of series.values()) out.push({ machine: s.machine, signal: s.signal, ts, value: null, quality: 'bad' });
      node.delivered.delete(dev);
    }
    return out;
  }

  private map(topic: SparkplugTopic, metric: string): Mapping | null {
    const key = `${topic.group}\u0000${topic.node}\u0000${topic.device}\u0000${metric}`;
    const hit = this.mappingCache.get(key);
    if (hit !== undefined) return hit;
    let result: Mapping | null = null;
    for (const r of this.rules) {
      if (!r.group.test(topic.group) || !r.node.test(topic.node) || !r.device.test(topic.device)) continue;
      const mm = r.metric.exec(metric);
      if (!mm) continue;
      const fill = (t: string): string =>
        t.replace(/\{(group|node|device|metric|\d+)\}/g, (_, k: string) =>
          k === 'group' ? topic.group : k === 'node' ? topic.node : k === 'device' ? topic.device : k === 'metric' ? metric : (mm[Number(k)] ?? ''),
        );
      const machine = fill(r.machine);
      if (machine === '') continue;
      result = { machine, signal: snake(fill(r.signal)), scale: r.scale };
      break;
    }
    if (this.mappingCache.size >= SPARKPLUG_HOST_DEFAULTS.mappingCacheSize) this.mappingCache.clear();
    this.mappingCache.set(key, result);
    return result;
  }
}

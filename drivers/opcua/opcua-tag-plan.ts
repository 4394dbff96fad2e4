/**
 * The per-tag plan, computed once at start-up (STYLE.md: hot paths prepared up front), and how
 * tags are grouped into CreateMonitoredItems calls.
 */
import {
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  type MonitoringParametersOptions,
} from 'node-opcua-client';
import type { OpcuaSourceConfig } from './opcua-schema.ts';
import type { ValueIssue } from './opcua-values.ts';

/** Everything needed per tag on the hot path. */
export interface TagPlan {
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

/** One plan per configured tag, its monitoring parameters resolved from the tag and the source. */
export function planTags(config: OpcuaSourceConfig): TagPlan[] {
  const sharedParams = new Map<string, MonitoringParametersOptions>();
  return config.tags.map((t) => {
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

/** One CreateMonitoredItems call per chunk of tags with the same parameters (≤ maxItemsPerCall). */
export function monitorCalls(tags: readonly TagPlan[], maxItemsPerCall: number): TagPlan[][] {
  const byParams = new Map<string, TagPlan[]>();
  for (const t of tags) {
    const list = byParams.get(t.paramsKey);
    if (list) list.push(t);
    else byParams.set(t.paramsKey, [t]);
  }
  const chunks: TagPlan[][] = [];
  for (const list of byParams.values()) {
    for (let i = 0; i < list.length; i += maxItemsPerCall) chunks.push(list.slice(i, i + maxItemsPerCall));
  }
  return chunks;
}

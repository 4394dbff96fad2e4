/** The series a Sparkplug block's metric rules produce (used by the MQTT driver's descriptor). */
import { storedRollover, type SeriesMapping } from '../series-mapping.ts';
import type { SparkplugConfig } from './sparkplug-schema.ts';

export function sparkplugMappings(sp: SparkplugConfig): SeriesMapping[] {
  return sp.metrics.map((r, i): SeriesMapping => {
    const scale = r.scale ?? 1;
    return {
      machine: r.machine,
      signal: r.signal,
      scale,
      rollover: storedRollover(r.rollover, scale),
      staleAfterS: r.staleAfterS,
      path: ['sparkplug', 'metrics', i],
      origin: `sparkplug ${r.group}/${r.node}/${r.device || '(node)'} ${r.metric}`,
    };
  });
}

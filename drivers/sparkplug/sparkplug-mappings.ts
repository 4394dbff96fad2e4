/** The series a Sparkplug block's metric rules produce (used by the MQTT driver's descriptor). */
import { isTemplate, seriesMapping, type SeriesMapping } from '../series-mapping.ts';
import { snake } from './sparkplug-names.ts';
import type { SparkplugConfig } from './sparkplug-schema.ts';

/**
 * The signal as the host stores it: a literal signal snake-cased as the host does; in a template
 * the text around the placeholders is lower-cased the same way (the host snake-cases the filled name).
 */
function storedSignal(signal: string): string {
  if (!isTemplate(signal)) return snake(signal);
  return signal
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? part : part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9]+/g, '_')))
    .join('');
}

export function sparkplugMappings(sp: SparkplugConfig): SeriesMapping[] {
  return sp.metrics.map((r, i) =>
    seriesMapping({ ...r, signal: storedSignal(r.signal) }, ['sparkplug', 'metrics', i], `sparkplug ${r.group}/${r.node}/${r.device || '(node)'} ${r.metric}`),
  );
}

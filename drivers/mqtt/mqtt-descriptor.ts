/** The MQTT driver's descriptor (drivers/registry.ts): JSON, plain and order-event topics, and Sparkplug B. */
import type { DriverDescriptor } from '../descriptor.ts';
import { seriesMapping, type SeriesMapping } from '../series-mapping.ts';
import { sparkplugMappings } from '../sparkplug/sparkplug-mappings.ts';
import { mqttSourceSchema, type MqttSourceConfig, type MqttTopicConfig } from './mqtt-schema.ts';

/** The series of one topic: a field each (json), its one signal (plain), none (order events). */
export function topicMappings(t: MqttTopicConfig, ti: number): SeriesMapping[] {
  const machine = t.machine;
  if (machine === undefined) return [];
  if (t.format === 'plain' && t.signal !== undefined) return [seriesMapping({ ...t, machine, signal: t.signal }, ['topics', ti], t.filter)];
  return Object.entries(t.fields ?? {}).map(([signal, f]) => {
    const path = ['topics', ti, 'fields', signal];
    if (typeof f === 'string') return seriesMapping({ ...t, machine, signal }, path, `${t.filter} ${f}`);
    // a field's own settings override its topic's
    const d = { machine, signal, scale: f.scale ?? t.scale, rollover: f.rollover ?? t.rollover, staleAfterS: f.staleAfterS ?? t.staleAfterS };
    return seriesMapping(d, path, `${t.filter} ${f.path}`);
  });
}

export const mqttDescriptor: DriverDescriptor<MqttSourceConfig> = {
  type: 'mqtt',
  schema: mqttSourceSchema,
  async create(source, ctx) {
    const { MqttDriver } = await import('./mqtt-driver.ts');
    return new MqttDriver(source, { defaultClientId: `sfa-${ctx.agentId}-${source.id}` });
  },
  mappings(source) {
    return [...source.topics.flatMap(topicMappings), ...(source.sparkplug ? sparkplugMappings(source.sparkplug) : [])];
  },
};

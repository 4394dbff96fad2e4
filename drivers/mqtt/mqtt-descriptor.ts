/** The MQTT driver's descriptor (drivers/registry.ts): JSON, plain and order-event topics, and Sparkplug B. */
import type { DriverDescriptor } from '../descriptor.ts';
import { storedRollover, type SeriesMapping } from '../series-mapping.ts';
import { sparkplugMappings } from '../sparkplug/sparkplug-mappings.ts';
import { mqttSourceSchema, type MqttSourceConfig, type MqttTopicConfig } from './mqtt-schema.ts';

/** The series of one topic: a field each (json), its one signal (plain), none (order events). */
export function topicMappings(t: MqttTopicConfig, ti: number): SeriesMapping[] {
  if (t.machine === undefined) return [];
  const machine = t.machine;
  const base = (signal: string, scale: number, rollover: number | undefined, staleAfterS: number | undefined, path: (string | number)[], origin: string): SeriesMapping => ({
    machine,
    signal,
    scale,
    rollover: storedRollover(rollover, scale),
    staleAfterS,
    path,
    origin,
  });
  if (t.format === 'plain' && t.signal !== undefined) {
    return [base(t.signal, t.scale ?? 1, t.rollover, t.staleAfterS, ['topics', ti], t.filter)];
  }
  return Object.entries(t.fields ?? {}).map(([signal, f]) =>
    typeof f === 'string'
      ? base(signal, t.scale ?? 1, t.rollover, t.staleAfterS, ['topics', ti, 'fields', signal], `${t.filter} ${f}`)
      : base(signal, f.scale ?? t.scale ?? 1, f.rollover ?? t.rollover, f.staleAfterS ?? t.staleAfterS, ['topics', ti, 'fields', signal], `${t.filter} ${f.path}`),
  );
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

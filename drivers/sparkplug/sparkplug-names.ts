/**
 * How the Sparkplug host names signals, shared by the host and the rules' mappings (a module
 * without protobuf, so validating a config does not load it): a metric-derived signal is stored
 * snake_case ("Energy/Total" → energy_total).
 */
export function snake(s: string): string {
  if (/^[a-z][a-z0-9_]*$/.test(s)) return s;
  const out = s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(out) ? out : `m_${out}`;
}

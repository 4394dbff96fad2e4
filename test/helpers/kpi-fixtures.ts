/** Shared by the KPI tests that run a real buffer and KpiService. */
import { expect } from 'vitest';
import { loadConfigText } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';

/** Deep equality, numbers to 1e-9 relative (sums of the same terms in another order). */
export function expectClose(actual: unknown, expected: unknown, path = 'rows'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(actual - expected) > 1e-9 * Math.max(1, Math.abs(expected))) expect.fail(`${path}: ${actual} ≠ ${expected}`);
  } else if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object', path).toBe(true);
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual as object)]);
    for (const k of keys) expectClose((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

/** A config from YAML text (which must be valid) with its data in `dir`. */
export function configIn(text: string, file: string, dir: string): Config {
  const res = loadConfigText(text, { file });
  if (!res.ok) throw new Error(JSON.stringify(res.problems));
  return { ...res.config, agent: { ...res.config.agent, dataDir: dir } };
}

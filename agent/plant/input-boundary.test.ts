import { describe, expect, it } from 'vitest';
import type { Sample } from '../model/index.ts';
import { INPUT_BOUNDARY_DEFAULTS, SourceBoundary, span, type BoundaryPolicy } from './input-boundary.ts';

const NOW = Date.UTC(2026, 11, 3, 12);
const POLICY: BoundaryPolicy = { maxFutureMs: 300_000, retainMs: 14 * 86_400_000, badTimestamp: 'deadLetter', maxSeries: 3 };
const s = (over: Partial<Sample> = {}): Sample => ({ machine: 'm1', signal: 'power_kw', ts: NOW - 1000, value: 1, quality: 'good', ...over });

function run(samples: Sample[], policy: Partial<BoundaryPolicy> = {}, b = new SourceBoundary({ ...POLICY, ...policy })): { out: readonly Sample[]; rejected: { sample: Sample; reason: string }[]; b: SourceBoundary } {
  const rejected: { sample: Sample; reason: string }[] = [];
  const out = b.admit(samples, NOW, (sample, reason) => rejected.push({ sample, reason }));
  return { out, rejected, b };
}

describe('the input boundary', () => {
  it('passes good samples through as the same array (no copy on the hot path)', () => {
    const batch = [s(), s({ signal: 'state', value: 'running' }), s({ value: null, quality: 'bad' }), s({ signal: 'door', value: true })];
    const { out, rejected } = run(batch);
    expect(out).toBe(batch);
    expect(rejected).toEqual([]);
  });

  it('rejects timestamps outside the window with a reason that says how far off they are', () => {
    const { out, rejected } = run([s({ ts: 1e17 }), s({ ts: -1 }), s({ ts: NOW + 301_000 }), s({ ts: Number.NaN }), s({ ts: 'soon' as unknown as number }), s({ ts: NOW - 15 * 86_400_000 }), s()]);
    expect(out).toHaveLength(1);
    expect(rejected.map((r) => r.reason)).toEqual([
      'timestamp 100000000000000000 is 3.2e+6 years ahead of arrival (maxFutureS 300)',
      'timestamp -1 is 56.9 years before arrival, older than the accepted window (retainDays 14)',
      `timestamp ${NOW + 301_000} is 301 s ahead of arrival (maxFutureS 300)`,
      'timestamp NaN is not a finite number of epoch ms',
      'timestamp "soon" is not a finite number of epoch ms',
      expect.stringMatching(/older than the accepted window \(retainDays 14\)$/),
    ]);
  });

  it('never accepts a date before 2000, however long the retention', () => {
    const { rejected } = run([s({ ts: Date.UTC(1999, 11, 31) }), s({ ts: 0 })], { retainMs: 100 * 365 * 86_400_000 });
    expect(rejected.map((r) => r.reason)).toEqual(['timestamp 946598400000 is 26.9 years before arrival, older than the accepted window (2000-01-01)', 'timestamp 0 is 56.9 years before arrival, older than the accepted window (2000-01-01)']);
    expect(span(90_000)).toBe('90 s');
    expect(span(2.5 * 86_400_000)).toBe('2.5 days');
  });

  it('clamps an out-of-window timestamp to arrival when the source says so, and rounds fractional ms', () => {
    const { out, rejected, b } = run([s({ ts: 1e17 }), s({ ts: NOW - 0.5 })], { badTimestamp: 'arrival' });
    expect(rejected).toEqual([]);
    expect(out.map((x) => x.ts)).toEqual([NOW, NOW]);
    expect(b.clamped).toBe(1);
  });

  it('rejects unsafe names once per sample and never admits their series', () => {
    const bad = ['evil/#', 'a+b', 'x#', 'nul\u0000', 'tab\there', '', 'x'.repeat(10_000), '\ud800', 'bad\ufffdutf8'];
    const { out, rejected } = run([...bad.map((machine) => s({ machine })), ...bad.map((signal) => s({ signal }))]);
    expect(out).toEqual([]);
    expect(rejected).toHaveLength(bad.length * 2);
    for (const r of rejected) expect(r.reason.length).toBeLessThan(300);
    expect(rejected[0]?.reason).toBe('machine "evil/#" holds "/", "+" or "#" (it would become MQTT topic levels or wildcards)');
    expect(rejected[6]?.reason).toBe('machine of 10000 chars exceeds 128');
  });

  it('rejects non-finite numbers, overlong text and values of other types', () => {
    const { out, rejected } = run([s({ value: Number.NaN }), s({ value: Infinity }), s({ value: 'x'.repeat(5000) }), s({ value: {} as unknown as number }), s({ value: 'ok' })]);
    expect(out).toHaveLength(1);
    expect(rejected.map((r) => r.reason)).toEqual(['value NaN is not a finite number', 'value Infinity is not a finite number', 'text value of 5000 chars exceeds 4096', 'value of type object is not a number, text, boolean or null']);
  });

  it('caps new series per source: each refused series is dead-lettered once and counted', () => {
    const seen: string[] = [];
    const b = new SourceBoundary(POLICY, (m, sig) => seen.push(`${m}.${sig}`));
    b.seed('old', 'power_kw'); // stored in an earlier run: counts against the cap
    const batch = ['m1', 'm2', 'm3', 'm4', 'm3', 'm4', 'old'].map((machine) => s({ machine }));
    const { out, rejected } = run(batch, {}, b);
    expect(out.map((x) => x.machine)).toEqual(['m1', 'm2', 'old']);
    expect(rejected.map((r) => r.sample.machine)).toEqual(['m3', 'm4']);
    expect(rejected[0]?.reason).toMatch(/reached maxSeries 3/);
    expect(b.seriesCapped).toBe(2);
    expect(seen).toEqual(['m1.power_kw', 'm2.power_kw', 'old.power_kw']);
    // known series keep flowing
    expect(run([s({ machine: 'm1' }), s({ machine: 'old' })], {}, b).out).toHaveLength(2);
  });

  it('its defaults are the documented ones', () => {
    expect(INPUT_BOUNDARY_DEFAULTS).toMatchObject({ maxFutureS: 300, maxSeries: 10_000, badTimestamp: 'deadLetter', floorMs: Date.UTC(2000, 0, 1) });
  });
});

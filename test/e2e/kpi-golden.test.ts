/**
 * Golden KPI cases (agent/kpi/testcases/<case>/): each folder holds an agent config
 * (`config.yaml`) and `case.yaml` with the samples, late samples, the queries and the rows
 * expected, computed by hand (the arithmetic is in the comments). Adding a case needs no code.
 *
 * Each case runs through the real path: samples committed to a SQLite buffer in a temp folder,
 * KpiService cutting windows in the site's zone, the pure engine. Samples are committed in the
 * order listed and, in a second run, reversed: arrival order must not matter. `late` samples
 * are committed after a first round of queries (checked against `rowsBefore`), so the cache
 * of full hours is warm when they arrive, as it is in a running agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfigText } from '../../config/index.ts';
import { SqliteBuffer } from '../../agent/buffer/index.ts';
import { KpiService, type GroupBy, type KpiScope } from '../../agent/kpi-query/index.ts';
import type { Quality, Sample, SampleValue } from '../../agent/model/index.ts';
import { Plant } from '../../agent/plant/index.ts';

const CASES = fileURLToPath(new URL('../../agent/kpi/testcases/', import.meta.url));

type RawSample = [string, string, string, SampleValue, Quality?];
interface GoldenQuery {
  query: { from: string; to: string; groupBy?: GroupBy; machine?: string; line?: string; scope?: KpiScope };
  rows: Record<string, unknown>[];
  rowsBefore?: Record<string, unknown>[];
}
interface GoldenCase {
  samples: RawSample[];
  late?: RawSample[];
  queries: GoldenQuery[];
}

/** lead-time percentiles come from a 1 % histogram (agent/kpi/lead-time.ts): ±0.5 % */
const HISTOGRAM_KEYS = new Set(['p50S', 'p90S']);

function toSample([machine, signal, ts, value, quality]: RawSample): Sample {
  const t = Date.parse(ts);
  if (!Number.isFinite(t)) throw new Error(`bad time ${ts}`);
  return { machine, signal, ts: t, value, quality: quality ?? 'good' };
}

function expectMatch(actual: unknown, expected: unknown, path: string): void {
  if (expected === null || typeof expected === 'boolean') {
    expect(actual, path).toBe(expected);
  } else if (typeof expected === 'number') {
    expect(typeof actual, `${path} is a number`).toBe('number');
    const a = actual as number;
    const key = path.split('.').pop() ?? '';
    const tol = HISTOGRAM_KEYS.has(key) ? 0.005 * Math.abs(expected) : 1e-9 * Math.max(1, Math.abs(expected));
    if (Math.abs(a - expected) > tol) expect.fail(`${path}: ${a} ≠ expected ${expected}`);
  } else if (typeof expected === 'string') {
    if (/^\d{4}-\d\d-\d\dT/.test(expected)) expect(new Date(actual as string).toISOString(), path).toBe(new Date(expected).toISOString());
    else expect(actual, path).toBe(expected);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${path} is an array`).toBe(true);
    expect((actual as unknown[]).length, `${path}.length`).toBe(expected.length);
    expected.forEach((e, i) => expectMatch((actual as unknown[])[i], e, `${path}[${i}]`));
  } else if (typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object', `${path} is an object`).toBe(true);
    for (const [k, v] of Object.entries(expected as Record<string, unknown>)) expectMatch((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  }
}

const cases = readdirSync(CASES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('golden KPI cases', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('has at least the ten required cases (resets, rollover, power only, DST, late data …)', () => {
    expect(cases).toEqual(
      expect.arrayContaining([
        'counter-reset',
        'counter-rollover',
        'power-only',
        'no-good-units',
        'shift-across-midnight',
        'dst-berlin',
        'dst-chicago',
        'order-two-shifts',
        'late-data',
        'tariff-and-carbon',
      ]),
    );
  });

  for (const name of cases) {
    for (const order of ['as listed', 'reversed'] as const) {
      it(`${name} (${order})`, () => {
        const res = loadConfigText(readFileSync(join(CASES, name, 'config.yaml'), 'utf8'), { file: `${name}/config.yaml` });
        if (!res.ok) throw new Error(JSON.stringify(res.problems));
        const dir = mkdtempSync(join(tmpdir(), `sfa-golden-${name}-`));
        dirs.push(dir);
        const config = { ...res.config, agent: { ...res.config.agent, dataDir: dir } };
        const gc = parse(readFileSync(join(CASES, name, 'case.yaml'), 'utf8')) as GoldenCase;
        const buffer = new SqliteBuffer({ dataDir: dir, rollupSeries: new Plant(config) });
        try {
          const kpis = new KpiService(new Plant(config), buffer);
          const samples = gc.samples.map(toSample);
          buffer.commit(order === 'reversed' ? samples.reverse() : samples);
          const run = (q: GoldenQuery): unknown[] =>
            kpis.query({
              from: Date.parse(q.query.from),
              to: Date.parse(q.query.to),
              groupBy: q.query.groupBy ?? 'none',
              machine: q.query.machine,
              line: q.query.line,
              scope: q.query.scope,
            });
          if (gc.late) {
            for (const q of gc.queries) expectMatch(run(q), q.rowsBefore ?? q.rows, `${name} before late data: rows`);
            buffer.commit(gc.late.map(toSample));
          }
          for (const q of gc.queries) expectMatch(run(q), q.rows, `${name}: rows`);
          // the same answers from a cold cache: full hours from the buffer's hour rollups …
          kpis.clearCache();
          for (const q of gc.queries) expectMatch(run(q), q.rows, `${name} (cold, rollups): rows`);
          // … and from raw rows only
          for (const options of [{ rollups: false }, { cache: false }]) {
            const other = new KpiService(new Plant(config), buffer, options);
            for (const q of gc.queries) {
              const rows = other.query({ from: Date.parse(q.query.from), to: Date.parse(q.query.to), groupBy: q.query.groupBy ?? 'none', machine: q.query.machine, line: q.query.line, scope: q.query.scope });
              expectMatch(rows, q.rows, `${name} (${JSON.stringify(options)}): rows`);
            }
          }
        } finally {
          buffer.close();
        }
      });
    }
  }
});

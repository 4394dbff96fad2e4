/**
 * `npm run bench [-- name…]`: runs every test/bench/*.bench.ts (or those whose name contains
 * one of the arguments), prints one table and writes test/bench/results.json.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus } from 'node:os';
import type { Bench, BenchFigure } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(2);
}

const rows: (BenchFigure & { bench: string; ratio?: number })[] = [];
for (const f of files) {
  const bench = f.replace(/\.bench\.ts$/, '');
  process.stderr.write(`running ${bench} …\n`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run: Bench };
  for (const fig of await mod.run()) {
    rows.push({ bench, ...fig, ...(fig.baseline ? { ratio: fig.value / fig.baseline.value } : {}) });
  }
}

const fmt = (n: number): string => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
const table = rows.map((r) => ({
  bench: r.bench,
  figure: r.figure,
  value: fmt(r.value),
  unit: r.unit,
  target: r.target ?? '',
  ratio: r.ratio === undefined || !r.baseline ? '' : `${r.ratio < 0.01 ? r.ratio.toPrecision(2) : r.ratio.toFixed(2)}× ${r.baseline.name} (${fmt(r.baseline.value)})`,
}));
const cols = Object.keys(table[0] ?? {}) as (keyof (typeof table)[number])[];
const width = cols.map((c) => Math.max(c.length, ...table.map((r) => r[c].length)));
const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(width[i] ?? 0)).join('  ');
console.log(line(cols));
console.log(line(width.map((w) => '-'.repeat(w))));
for (const r of table) console.log(line(cols.map((c) => r[c])));

const out = { at: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, results: rows };
writeFileSync(join(here, 'results.json'), `${JSON.stringify(out, null, 2)}\n`);

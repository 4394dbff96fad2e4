/**
 * `shopfloor-agent kpi [-c FILE] [--from ISO] [--to ISO] [--machine ID] [--group-by …]
 * [--scope machine|line|site] [--format table|json|csv]` (DESIGN.md §6): KPIs and the brief's
 * benchmarks from the local buffer. Opens the database read-only, so it works while the agent
 * runs (WAL lets a reader in beside the writer).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DateTime } from 'luxon';
import { loadConfigFile, formatProblems } from '../../config/index.ts';
import { SqliteBuffer } from '../buffer/index.ts';
import { isAgentError } from '../errors.ts';
import { KpiQueryError, KpiService, type BenchmarkReport, type GroupBy, type KpiRow, type KpiScope, type RollupRow } from '../kpi-query/index.ts';
import type { CliContext, CommandFactory } from './cli-context.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { Plant } from '../plant/index.ts';

type Format = 'table' | 'json' | 'csv';

interface KpiOptions {
  config?: string;
  from?: string;
  to?: string;
  machine?: string;
  line?: string;
  groupBy: GroupBy;
  scope: KpiScope;
  format: Format;
}

export const KPI_COMMAND_DEFAULTS = { windowMs: 24 * 3600 * 1000, benchmarkWindowMs: 7 * 24 * 3600 * 1000 } as const;

/** ISO 8601; without an offset it is wall-clock time in the site's zone. */
export function parseTime(s: string, zone: string, name: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const dt = DateTime.fromISO(s, { zone, setZone: false });
  if (!dt.isValid) throw new InvalidArgumentError(`${name} "${s}" is not an ISO 8601 time (e.g. 2024-03-31T06:00 or 2024-03-31T06:00:00Z)`);
  return dt.toMillis();
}

type Row = KpiRow | RollupRow;

const COLUMNS: readonly [string, (r: Row) => string | number | null][] = [
  ['machine', (r) => r.machine ?? (r.line === null ? 'site' : `line ${r.line}`)],
  ['period', (r) => r.period ?? ''],
  ['start', (r) => r.periodStart],
  ['end', (r) => r.periodEnd],
  ['energyKwh', (r) => r.energyKwh],
  ['unitsTotal', (r) => r.unitsTotal],
  ['unitsGood', (r) => r.unitsGood],
  ['unitsScrap', (r) => r.unitsScrap],
  ['energyPerUnitKwh', (r) => r.energyPerUnitKwh],
  ['scrapRate', (r) => r.scrapRate],
  ['plannedS', (r) => r.plannedS],
  ['runningS', (r) => r.runningS],
  ['unknownS', (r) => r.unknownS],
  ['availability', (r) => r.availability],
  ['performance', (r) => r.performance],
  ['quality', (r) => r.quality],
  ['oee', (r) => r.oee],
  ['qaAccuracy', (r) => r.qaAccuracy],
  ['costPerUnit', (r) => r.costPerUnit],
  ['co2ePerUnitKg', (r) => r.co2ePerUnitKg],
  ['orders', (r) => r.leadTime.orders],
  ['leadTimeP50S', (r) => r.leadTime.p50S],
  ['leadTimeP90S', (r) => r.leadTime.p90S],
  ['leadTimeBasis', (r) => r.leadTime.basis],
  // last: a column added later goes at the end, so CSV readers that go by position keep working
  ['coverage', (r) => r.coverage],
];

const BENCH_COLUMNS: readonly [string, (r: BenchmarkReport['rows'][number]) => string | number | null][] = [
  ['kpi', (r) => r.kpi],
  ['scope', (r) => r.scope],
  ['value', (r) => r.value],
  ['baseline', (r) => r.baseline],
  ['change', (r) => r.change],
  ['band', (r) => `${r.band[0]}..${r.band[1]}`],
  ['verdict', (r) => r.verdict],
  ['source', (r) => r.source],
];

function fmt(v: string | number | null, pretty: boolean): string {
  if (v === null) return pretty ? '–' : '';
  if (typeof v === 'number') return pretty ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v);
  return v;
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csv<T>(cols: readonly [string, (r: T) => string | number | null][], rows: readonly T[]): string {
  return [cols.map((c) => c[0]).join(','), ...rows.map((r) => cols.map(([, get]) => csvCell(fmt(get(r), false))).join(','))].join('\n');
}

function table<T>(cols: readonly [string, (r: T) => string | number | null][], rows: readonly T[]): string {
  const cells = rows.map((r) => cols.map(([, get]) => fmt(get(r), true)));
  const width = cols.map(([name], i) => Math.max(name.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, i) => x.padEnd(width[i] ?? 0)).join('  ').trimEnd();
  return [line(cols.map((c) => c[0])), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const kpiCommand: CommandFactory = (ctx: CliContext) =>
  new Command('kpi')
    .description('KPIs and the brief\'s benchmarks from the local buffer (works while the agent runs)')
    .addOption(new Option('-c, --config <file>', 'config file (default ./agent.yaml or $SHOPFLOOR_CONFIG)'))
    .option('--from <iso>', 'window start, ISO 8601 (no offset: site time zone); default 24 h before --to')
    .option('--to <iso>', 'window end, ISO 8601; default now')
    .option('--machine <id>', 'one machine')
    .option('--line <id>', 'the machines of one line')
    .addOption(new Option('--group-by <g>', 'one row per').choices(['none', 'hour', 'shift', 'day', 'order']).default('none'))
    .addOption(new Option('--scope <s>', 'machine rows, or rolled up per line or for the site').choices(['machine', 'line', 'site']).default('machine'))
    .addOption(new Option('--format <f>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .action((opts: KpiOptions) => {
      ctx.setExit(runKpi(opts, ctx));
    });

function runKpi(opts: KpiOptions, ctx: CliContext): number {
  const file = opts.config ?? process.env.SHOPFLOOR_CONFIG ?? './agent.yaml';
  const res = loadConfigFile(file);
  if (!res.ok) {
    ctx.io.err(formatProblems(res.problems, file));
    return EXIT_CODES.USAGE;
  }
  const config = res.config;
  const zone = config.site.timezone;
  let from: number;
  let to: number;
  try {
    to = opts.to === undefined ? Date.now() : parseTime(opts.to, zone, '--to');
    from = opts.from === undefined ? to - KPI_COMMAND_DEFAULTS.windowMs : parseTime(opts.from, zone, '--from');
  } catch (e) {
    ctx.io.err(`shopfloor-agent kpi: ${(e as Error).message}`);
    return EXIT_CODES.USAGE;
  }
  const plant = new Plant(config);
  let buffer: SqliteBuffer;
  try {
    buffer = new SqliteBuffer({ dataDir: config.agent.dataDir, readonly: true, rollupSeries: plant });
    // resolve captured series' settings as the agent did: by the source that delivered them
    for (const b of buffer.seriesSources()) plant.bindSeries(b.source, b.machine, b.signal);
  } catch (e) {
    const code = isAgentError(e) ? `${e.code}: ` : '';
    ctx.io.err(`shopfloor-agent kpi: ${code}${(e as Error).message} — is agent.dataDir right, and has the agent run once?`);
    return EXIT_CODES.RUNTIME;
  }
  try {
    const kpis = new KpiService(plant, buffer);
    const rows = kpis.query({ from, to, machine: opts.machine, line: opts.line, groupBy: opts.groupBy, scope: opts.scope });
    // benchmarks: the same window when it is long enough to hold orders, else the last 7 days
    const benchFrom = Math.min(from, to - KPI_COMMAND_DEFAULTS.benchmarkWindowMs);
    const bench = kpis.benchmarks(opts.from === undefined ? benchFrom : from, to);
    const head = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    if (opts.format === 'json') {
      ctx.io.out(JSON.stringify({ ...head, rows, benchmarks: bench }, null, 2));
    } else if (opts.format === 'csv') {
      ctx.io.out(`${csv(COLUMNS, rows)}\n\n${csv(BENCH_COLUMNS, bench.rows)}`);
    } else {
      ctx.io.out(`KPIs ${head.from} → ${head.to} (${config.site.timezone})\n`);
      ctx.io.out(rows.length === 0 ? '(no machines match)' : table(COLUMNS, rows));
      ctx.io.out(`\nBenchmarks (research brief) ${bench.from} → ${bench.to}\n`);
      ctx.io.out(table(BENCH_COLUMNS, bench.rows));
    }
    return EXIT_CODES.OK;
  } catch (e) {
    if (e instanceof KpiQueryError) {
      ctx.io.err(`shopfloor-agent kpi: ${e.message}`);
      return EXIT_CODES.USAGE;
    }
    throw e;
  } finally {
    buffer.close();
  }
}

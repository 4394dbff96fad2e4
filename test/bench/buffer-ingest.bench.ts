/**
 * Samples/s into the buffer through the real write path (BatchWriter → SqliteBuffer, WAL,
 * synchronous=NORMAL, 1000 rows per transaction), next to the raw limit (better-sqlite3
 * batched inserts into a bare table) and the naive way (one autocommit insert per sample),
 * measured in the same run. Median of 5 runs each.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchWriter, SqliteBuffer } from '../../agent/buffer/index.ts';
import type { Sample } from '../../agent/model/index.ts';
import { SourceBoundary } from '../../agent/plant/index.ts';
import { median, repeat, type BenchFigure } from './harness.ts';

const N = 200_000;
const N_AUTOCOMMIT = 20_000;
const MACHINES = 50;
const SIGNALS = ['energy_kwh', 'parts_total', 'parts_scrap', 'state', 'temp_c'];

function samples(n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    machine: `m-${i % MACHINES}`,
    signal: SIGNALS[i % SIGNALS.length] as string,
    ts: 1_700_000_000_000 + i * 10,
    value: i * 0.5,
    quality: 'good',
  }));
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function inTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-bench-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The write path: this tree's (with the input boundary), or another checkout's without it (SFA_BENCH_BASE). */
interface WritePath {
  SqliteBuffer: typeof SqliteBuffer;
  BatchWriter: typeof BatchWriter;
  boundary: boolean;
}

const OURS: WritePath = { SqliteBuffer, BatchWriter, boundary: true };

function ours(data: Sample[], path: WritePath = OURS): number {
  return inTemp((dir) => {
    const buffer = new path.SqliteBuffer({ dataDir: dir });
    const writer = new path.BatchWriter(buffer, { maxRows: 1000, maxDelayMs: 100 });
    // every sample passes the input boundary first, as in the agent (the data is dated 2023: a retention that keeps it)
    const boundary = new SourceBoundary({ maxFutureMs: 300_000, retainMs: Number.MAX_SAFE_INTEGER, badTimestamp: 'deadLetter', maxSeries: 10_000 });
    const reject = (_s: Sample, reason: string): void => {
      throw new Error(`bench sample refused: ${reason}`);
    };
    const s = timed(() => {
      // drivers hand over small groups of samples, as notifications arrive
      for (let i = 0; i < data.length; i += 10) {
        const group = data.slice(i, i + 10);
        writer.enqueue(path.boundary ? boundary.admit(group, Date.now(), reject) : group);
      }
      writer.flush();
    });
    buffer.close();
    return data.length / s;
  });
}

function openRaw(dir: string): Database.Database {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE s (id INTEGER PRIMARY KEY, machine TEXT, signal TEXT, ts INTEGER, value, quality INTEGER)');
  return db;
}

function rawBatched(data: Sample[]): number {
  return inTemp((dir) => {
    const db = openRaw(dir);
    const ins = db.prepare('INSERT INTO s (machine, signal, ts, value, quality) VALUES (?, ?, ?, ?, 0)');
    const tx = db.transaction((rows: Sample[]) => {
      for (const r of rows) ins.run(r.machine, r.signal, r.ts, r.value);
    });
    const s = timed(() => {
      for (let i = 0; i < data.length; i += 1000) tx(data.slice(i, i + 1000));
    });
    db.close();
    return data.length / s;
  });
}

function autocommit(data: Sample[]): number {
  return inTemp((dir) => {
    const db = openRaw(dir);
    const ins = db.prepare('INSERT INTO s (machine, signal, ts, value, quality) VALUES (?, ?, ?, ?, 0)');
    const s = timed(() => {
      for (const r of data) ins.run(r.machine, r.signal, r.ts, r.value);
    });
    db.close();
    return data.length / s;
  });
}

/**
 * SFA_BENCH_BASE=/path/to/another/checkout: that tree's write path (no input boundary) against
 * this one's, in this process, alternating, 9 pairs: a busy machine sways both alike.
 */
async function againstBase(base: string, data: Sample[]): Promise<BenchFigure[]> {
  const mod = (await import(pathToFileURL(join(base, 'agent/buffer/index.ts')).href)) as Record<string, unknown>;
  const theirs = { SqliteBuffer: mod.SqliteBuffer, BatchWriter: mod.BatchWriter, boundary: false } as WritePath;
  const o: number[] = [];
  const b: number[] = [];
  for (let k = 0; k < 9; k++) {
    if (k % 2) {
      o.push(ours(data));
      b.push(ours(data, theirs));
    } else {
      b.push(ours(data, theirs));
      o.push(ours(data));
    }
  }
  return [{ figure: `buffer ingest against ${base} (same process, alternating)`, value: median(o), unit: 'samples/s', baseline: { name: 'base tree', value: median(b) } }];
}

export async function run(): Promise<BenchFigure[]> {
  const data = samples(N);
  const small = data.slice(0, N_AUTOCOMMIT);
  const runs = 5;
  const o: number[] = [];
  const r: number[] = [];
  const a: number[] = [];
  // interleave, so that a noisy neighbour hurts all three alike
  repeat(runs, () => {
    o.push(ours(data));
    r.push(rawBatched(data));
    a.push(autocommit(small));
  });
  const oursRate = median(o);
  const rawRate = median(r);
  const autoRate = median(a);
  return [
    { figure: 'buffer ingest (BatchWriter → SQLite)', value: oursRate, unit: 'samples/s', target: '>= 300,000', baseline: { name: 'raw batched', value: rawRate } },
    { figure: 'buffer ingest vs autocommit', value: oursRate, unit: 'samples/s', baseline: { name: 'autocommit', value: autoRate } },
    { figure: 'raw better-sqlite3 batched insert', value: rawRate, unit: 'samples/s' },
    { figure: 'one insert per sample, autocommit', value: autoRate, unit: 'samples/s' },
    ...(process.env.SFA_BENCH_BASE ? await againstBase(process.env.SFA_BENCH_BASE, data) : []),
  ];
}

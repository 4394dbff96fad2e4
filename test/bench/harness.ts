/** The benchmark contract: each test/bench/*.bench.ts exports `run()` returning its figures. */

export interface BenchFigure {
  /** what is measured */
  figure: string;
  value: number;
  unit: string;
  /** the figure the agent aims for, e.g. ">= 300000" (informative; benches never fail on it) */
  target?: string;
  /** the figure this one is compared with, measured in the same run */
  baseline?: { name: string; value: number };
}

export type Bench = () => Promise<BenchFigure[]>;

/** Median of repeated measurements (shared, noisy machines). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function repeat<T>(n: number, fn: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => fn(i));
}

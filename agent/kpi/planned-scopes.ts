/**
 * Planned time: the part of each window inside the planned intervals (shifts, later), as one
 * sorted list of disjoint spans, each tagged with its window. State time is counted only
 * inside these spans; the rest of a window is `unscheduledS`.
 */
import { normalizeIntervals, type Interval, type WindowSet } from './windows.ts';

export interface ScopeSet {
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  /** the window each span belongs to */
  readonly window: Int32Array;
  readonly count: number;
  /** planned ms per window (Σ of its spans) */
  readonly scopeMs: Float64Array;
}

/**
 * `planned` undefined: every window is planned throughout. Otherwise the planned intervals
 * (any order, may overlap; merged here) are intersected with the windows.
 */
export function buildScopes(ws: WindowSet, planned: readonly Interval[] | undefined): ScopeSet {
  const n = ws.count;
  const scopeMs = new Float64Array(n);
  if (planned === undefined) {
    const window = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      window[i] = i;
      scopeMs[i] = (ws.ends[i] as number) - (ws.starts[i] as number);
    }
    return { starts: ws.starts, ends: ws.ends, window, count: n, scopeMs };
  }
  const p = normalizeIntervals(planned);
  const cap = n + p.length;
  const starts = new Float64Array(cap);
  const ends = new Float64Array(cap);
  const window = new Int32Array(cap);
  let count = 0;
  let i = 0;
  let j = 0;
  while (i < n && j < p.length) {
    const we = ws.ends[i] as number;
    const iv = p[j] as Interval;
    const lo = Math.max(ws.starts[i] as number, iv[0]);
    const hi = Math.min(we, iv[1]);
    if (hi > lo) {
      starts[count] = lo;
      ends[count] = hi;
      window[count] = i;
      count++;
      scopeMs[i] = (scopeMs[i] as number) + (hi - lo);
    }
    if (we <= iv[1]) i++;
    else j++;
  }
  return { starts, ends, window, count, scopeMs };
}

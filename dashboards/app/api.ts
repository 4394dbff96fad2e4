/** The agent's JSON API as the dashboard uses it; the types come from the server's own code. */
import type { TileStatus } from '../../agent/http/machine-status.ts';
import type { Diagnostics, Overview, ShiftKpis, SiteInfo, Trend, TrendRange } from '../../agent/http/dashboard-model.ts';
import type { OrderRow } from '../../agent/http/order-table.ts';
import type { Health } from '../../agent/http/ports.ts';

export type { Diagnostics, Health, OrderRow, Overview, ShiftKpis, SiteInfo, TileStatus, Trend, TrendRange };

export interface BenchmarkRow {
  kpi: string;
  scope: string;
  value: number | null;
  baseline: number | null;
  change: number | null;
  band: [number, number];
  verdict: 'better' | 'within' | 'worse' | 'no-baseline' | string;
  source: string;
  unit?: string;
  product?: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`;
    throw new HttpError(401, 'sign in needed');
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { message?: string };
      if (body.message) msg = body.message;
    } catch {
      // not JSON
    }
    throw new HttpError(res.status, msg);
  }
  return (await res.json()) as T;
}

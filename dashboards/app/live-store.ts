/**
 * The live picture: one EventSource on /api/stream for the whole page. When the stream is
 * lost the store says so at once, and every page shows its data as not live until it is back.
 */
import type { Health, ShiftKpis, TileStatus } from './api.ts';

export type LiveTopic = 'state' | 'kpi' | 'health' | 'connection' | 'sample';

export interface LiveSample {
  machine: string;
  signal: string;
  ts: number;
  value: number | string | boolean | null;
  quality: string;
}

export class LiveStore {
  readonly tiles = new Map<string, TileStatus>();
  kpi: ShiftKpis | undefined;
  health: Health | undefined;
  connected = false;
  /** server clock − browser clock, ms */
  offsetMs = 0;
  private es: EventSource | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<(topic: LiveTopic, data?: unknown) => void>();

  now(): number {
    return Date.now() + this.offsetMs;
  }

  on(fn: (topic: LiveTopic, data?: unknown) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  connect(): void {
    document.documentElement.classList.add('offline');
    const es = new EventSource('/api/stream');
    this.es = es;
    es.addEventListener('open', () => this.setConnected(true));
    es.addEventListener('error', () => {
      this.setConnected(false);
      // after a lost connection the browser retries by itself, after an HTTP error it gives up
      // (503 when the agent serves http.maxStreams already): try again a little later, spread out
      if (es.readyState === EventSource.CLOSED && this.es === es && this.retry === undefined) {
        this.retry = setTimeout(() => {
          this.retry = undefined;
          if (this.es === es) this.connect();
        }, 10_000 + Math.random() * 10_000);
      }
    });
    es.addEventListener('state', (e) => {
      const t = JSON.parse((e as MessageEvent<string>).data) as TileStatus & { now: string };
      this.clock(t.now);
      this.tiles.set(t.id, t);
      this.emit('state', t);
    });
    es.addEventListener('kpi', (e) => {
      this.kpi = JSON.parse((e as MessageEvent<string>).data) as ShiftKpis;
      this.clock(this.kpi.now);
      this.emit('kpi', this.kpi);
    });
    es.addEventListener('health', (e) => {
      this.health = JSON.parse((e as MessageEvent<string>).data) as Health & { now: string };
      this.emit('health', this.health);
    });
    es.addEventListener('sample', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as { samples: LiveSample[] };
      this.emit('sample', d.samples);
    });
  }

  close(): void {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    this.es?.close();
  }

  private clock(iso: string): void {
    const t = Date.parse(iso);
    if (Number.isFinite(t)) this.offsetMs = t - Date.now();
  }

  private setConnected(c: boolean): void {
    if (c === this.connected) return;
    this.connected = c;
    document.documentElement.classList.toggle('offline', !c);
    this.emit('connection', c);
  }

  private emit(topic: LiveTopic, data?: unknown): void {
    for (const l of this.listeners) l(topic, data);
  }
}

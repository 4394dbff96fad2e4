/**
 * SIGHUP reload without a gap: the agent (a child process) runs source `a` receiving numbered
 * messages the whole time while reloads add a source, remove one, change one and finally bring
 * an invalid config. `a` is never restarted (one "source connected" in the log) and loses no
 * number; the added source stores, the removed one stops, the changed one stores under its new
 * mapping; the invalid config is rejected with its reason in /healthz and the agent runs on.
 * A SIGHUP sent before the agent is up is queued, not fatal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { MOSQUITTO_URL, mosquitto, uniqueTopicPrefix, waitFor } from '../helpers/index.ts';
import { AgentChild, getJson } from './agent-child.ts';

const broker = await mosquitto();

interface Healthz {
  sources: { id: string; state: string }[];
  config: { loadedAt: string; lastReload: { ok: boolean; error?: string; needsRestart?: string[] } | null };
}

describe.skipIf(!broker.available)('SIGHUP reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-sighup-'));
  const prefix = uniqueTopicPrefix('sighup');
  const cid = `sfa-sighup-${process.pid}-${Date.now().toString(36)}`;
  const file = join(dir, 'agent.yaml');
  let agent: AgentChild | undefined;

  afterAll(async () => {
    agent?.kill();
    for (const s of ['a', 'b', 'c']) {
      const c = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `${cid}-${s}`, clean: true });
      await c.endAsync();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const source = (id: string, signal = 'seq', extra = ''): string => `  - id: ${id}
    type: mqtt
    url: ${MOSQUITTO_URL}
    clientId: ${cid}-${id}
    clean: false${extra}
    topics:
      - { filter: "${prefix}/${id}", format: plain, machine: m-${id}, signal: ${signal} }
`;
  const config = (sources: string, port = 0): string => `site: { id: hup-site }
agent: { id: hup-agent, dataDir: ${join(dir, 'data')}, logLevel: info }
http: { port: ${port} }
machines: [{ id: m-a }, { id: m-b }, { id: m-c }]
sources:
${sources}`;

  it('adds, removes and changes sources while the untouched one loses no sample; an invalid config is rejected', async () => {
    writeFileSync(file, config(source('a') + source('b')));
    // the launcher reports its entry once its signal handlers exist, before it loads the agent
    agent = new AgentChild(['run', '-c', file], { SFA_REPORT_ENTRY: '1' });
    await waitFor(() => agent?.output.includes('entry: '), 30_000, 'the launcher to start');
    // a SIGHUP while the agent is still loading its modules: queued (Node's default would kill it)
    agent.signal('SIGHUP');
    const port = await agent.httpPort();
    const health = (): Promise<Healthz> => getJson<Healthz>(port, '/healthz');
    await waitFor(async () => (await health()).sources.every((s) => s.state === 'connected'), 30_000, 'sources connected');
    // the early SIGHUP was handled once the agent ran (same config: nothing to change)
    await waitFor(async () => (await health()).config.lastReload?.ok, 10_000, 'the early SIGHUP handled');

    const db = new Database(join(dir, 'data', 'buffer.db'), { readonly: true });
    const values = (machine: string, signal = 'seq'): number[] =>
      (db.prepare('SELECT CAST(s.value AS INTEGER) AS v FROM samples s JOIN series x ON x.id = s.series WHERE x.machine = ? AND x.signal = ? ORDER BY s.id').all(machine, signal) as { v: number }[]).map((r) => r.v);
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `${cid}-pub`, clean: true });
    // `a` receives a number every few ms through every reload; b and c get theirs on each step
    let n = 0;
    let running = true;
    const inFlight: Promise<unknown>[] = [];
    const stream = (async () => {
      while (running) {
        n++;
        inFlight.push(pub.publishAsync(`${prefix}/a`, String(n), { qos: 1 }));
        await new Promise((r) => setTimeout(r, 2));
      }
      await Promise.all(inFlight);
    })();
    const send = async (id: string, v: number): Promise<void> => {
      await pub.publishAsync(`${prefix}/${id}`, String(v), { qos: 1 });
    };
    const reload = async (text: string): Promise<Healthz> => {
      const before = (await health()).config.lastReload;
      const n0 = n;
      writeFileSync(file, text);
      agent?.signal('SIGHUP');
      return waitFor(
        async () => {
          const h = await health();
          return h.config.lastReload !== null && JSON.stringify(h.config.lastReload) !== JSON.stringify(before) ? h : undefined;
        },
        20_000,
        'the reload to be applied',
      ).then((h) => {
        // `a` was receiving while the reload happened
        expect(n).toBeGreaterThan(n0);
        return h;
      });
    };
    try {
      await send('b', 1);
      await waitFor(() => values('m-b').includes(1), 10_000, 'b stores');

      // add c
      let h = await reload(config(source('a') + source('b') + source('c')));
      expect(h.config.lastReload?.ok).toBe(true);
      await waitFor(async () => (await health()).sources.find((s) => s.id === 'c')?.state === 'connected', 10_000, 'c connected');
      await send('c', 1);
      await waitFor(() => values('m-c').includes(1), 10_000, 'c stores');

      // remove b: it stops, its messages no longer arrive
      h = await reload(config(source('a') + source('c')));
      expect(h.config.lastReload?.ok).toBe(true);
      expect(h.sources.map((s) => s.id).sort()).toEqual(['a', 'c']);
      await send('b', 2);

      // change c: it restarts with its new mapping
      h = await reload(config(source('a') + source('c', 'count_c')));
      expect(h.config.lastReload?.ok).toBe(true);
      await waitFor(async () => (await health()).sources.find((s) => s.id === 'c')?.state === 'connected', 10_000, 'c reconnected');
      await send('c', 2);
      await waitFor(() => values('m-c', 'count_c').includes(2), 10_000, 'c stores under its new mapping');

      // an invalid config: rejected with its reason, the agent runs on with the old one
      h = await reload(config(source('a') + source('c', 'count_c').replace('type: mqtt', 'type: mqttt')));
      expect(h.config.lastReload?.ok).toBe(false);
      expect(h.config.lastReload?.error).toMatch(/sources\[1\]\.type/);
      // a setting only a restart applies is named, not silently ignored
      h = await reload(config(source('a') + source('c', 'count_c'), 18_099));
      expect(h.config.lastReload).toMatchObject({ ok: true, needsRestart: ['http'] });

      const seen = n;
      await waitFor(() => values('m-a').includes(seen), 10_000, 'a still stores after the rejected reload');
    } finally {
      running = false;
      await stream;
      await pub.endAsync();
    }
    await waitFor(() => values('m-a').includes(n), 10_000, 'a stores its last number');
    const a = new Set(values('m-a'));
    const missing: number[] = [];
    for (let i = 1; i <= n; i++) if (!a.has(i)) missing.push(i);
    expect(missing).toEqual([]);
    expect(n).toBeGreaterThan(20);
    expect(values('m-b')).toEqual([1]);
    db.close();

    const lines = agent.lines();
    // the untouched source was never restarted; the changed one was
    expect(lines.filter((l) => l.source === 'a' && l.msg === 'source connected')).toHaveLength(1);
    expect(lines.filter((l) => l.source === 'c' && l.msg === 'source connected')).toHaveLength(2);
    expect(lines.some((l) => l.msg?.startsWith('reload rejected'))).toBe(true);
    const exit = await agent.exitAfter('SIGTERM');
    expect(exit.code).toBe(0);
  }, 120_000);
});

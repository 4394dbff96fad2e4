/**
 * The agent side of test/bench/opcua.bench.ts, in a process of its own (so that its CPU time and
 * heap hold the agent only, never the benchmark's data): loads the config file in argv[2], runs
 * an Agent exactly as `shopfloor-agent run` does, and answers over IPC:
 *   → {type:'subscribed', subscribeMs}  once every source is connected (all items created);
 *   {type:'stored'}            → {type:'stored', samples}
 *   {type:'measure', ms}       → {type:'measured', cpuMicros, samples, wallMs, rssMb, memory, spaces} over the next ms;
 *   {type:'stop'}              → stops the agent and exits.
 * With SFA_BENCH_CPU_PROF=<dir>, the measured window (only it) is profiled into <dir>/agent-<pid>.cpuprofile.
 * With SFA_BENCH_MARK set, '@@WINDOW START' / '@@WINDOW END' are written to stdout around the window
 * (to cut a --trace-gc-nvp log to it).
 * With SFA_BENCH_HEAP_SNAPSHOT=<dir>, a heap snapshot is written mid-window to <dir>/agent-<pid>.heapsnapshot
 * (it stops the agent for seconds: the window's CPU figure is then meaningless).
 * With SFA_BENCH_HEAP_SAMPLING=<dir>, V8's sampling heap profiler runs over the window and writes
 * <dir>/agent-<pid>.heapprofile: allocations that survived the young generation (promoted:
 * collected by a major GC, or still alive), by allocation stack. It shows what costs old-generation GC.
 * A major GC also collects what is young at that moment, so this overstates promotion by up to the
 * young generation per major GC. SFA_BENCH_HEAP_SAMPLING_ALL=1 keeps every allocation (what
 * triggers scavenges). The 'measured' reply carries process.memoryUsage() and the heap space sizes (MB).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { pino } from 'pino';
import { Agent } from '../../agent/runtime/agent.ts';
import { loadConfigFile } from '../../config/index.ts';

const file = process.argv[2] ?? '';
const res = loadConfigFile(file);
if (!res.ok) throw new Error(`bench config ${file}: ${JSON.stringify(res.problems.slice(0, 3))}`);
const agent = new Agent(res.config, pino({ level: 'warn' }, pino.destination(2)));
const stored = (): number => agent.buffer.stats().samples;
const send = (m: object): void => {
  process.send?.(m);
};
const rssMb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'NaN') / 1024;

async function heapSnapshot(path: string): Promise<void> {
  const session = new Session();
  session.connect();
  const parts: string[] = [];
  session.on('HeapProfiler.addHeapSnapshotChunk', (m) => parts.push(m.params.chunk));
  await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  session.disconnect();
  writeFileSync(path, parts.join(''));
}

process.on('message', (m: { type: string; ms?: number }) => {
  if (m.type === 'stored') send({ type: 'stored', samples: stored() });
  else if (m.type === 'measure') {
    const prof = process.env.SFA_BENCH_CPU_PROF;
    const session = prof ? new Session() : undefined;
    if (session) {
      session.connect();
      void session.post('Profiler.enable').then(() => session.post('Profiler.start'));
    }
    const sampling = process.env.SFA_BENCH_HEAP_SAMPLING;
    const heap = sampling ? new Session() : undefined;
    if (heap) {
      heap.connect();
      void heap.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.SFA_BENCH_HEAP_SAMPLING_ALL === '1' });
    }
    if (process.env.SFA_BENCH_MARK) process.stdout.write('@@WINDOW START\n');
    const s0 = stored();
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const snap = process.env.SFA_BENCH_HEAP_SNAPSHOT;
    if (snap) setTimeout(() => void heapSnapshot(join(snap, `agent-${process.pid}.heapsnapshot`)), (m.ms ?? 10_000) / 2);
    setTimeout(() => {
      const c = process.cpuUsage(c0);
      if (process.env.SFA_BENCH_MARK) process.stdout.write('@@WINDOW END\n');
      send({ type: 'measured', cpuMicros: c.user + c.system, samples: stored() - s0, wallMs: performance.now() - w0, rssMb: rssMb(), memory: process.memoryUsage(), spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1e6)])) });
      if (heap && sampling) {
        void heap.post('HeapProfiler.getSamplingProfile').then(({ profile }) => {
          writeFileSync(join(sampling, `agent-${process.pid}.heapprofile`), JSON.stringify(profile));
          void heap.post('HeapProfiler.stopSampling').then(() => heap.disconnect());
        });
      }
      if (session && prof) {
        void session.post('Profiler.stop').then(({ profile }) => {
          writeFileSync(join(prof, `agent-${process.pid}.cpuprofile`), JSON.stringify(profile));
          session.disconnect();
        });
      }
    }, m.ms ?? 10_000);
  } else if (m.type === 'stop') {
    void agent.stop().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

const t0 = performance.now();
await agent.start();
while (!agent.sourceStatus().every((s) => s.state === 'connected')) await new Promise((r) => setTimeout(r, 20));
send({ type: 'subscribed', subscribeMs: performance.now() - t0 });

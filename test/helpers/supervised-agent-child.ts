/**
 * A real agent in its own process with the CLI's last-line handlers, into which bugs are thrown
 * (agent/runtime/supervisor.test.ts): `component` throws in a timer of a running component and
 * rejects a promise in another, then prints what it sees; `unattributed` throws in a timer that
 * belongs to no component. The log goes to stdout as JSON lines, the verdict as the last line.
 *
 * usage: run-ts.mjs supervised-agent-child.ts <dataDir> component|unattributed
 */
import { pino } from 'pino';
import { loadConfigText } from '../../config/index.ts';
import { Agent } from '../../agent/runtime/agent.ts';

const [dataDir, mode] = process.argv.slice(2);
if (!dataDir || (mode !== 'component' && mode !== 'unattributed')) {
  process.stderr.write('usage: supervised-agent-child.ts <dataDir> component|unattributed\n');
  process.exit(2);
}
const res = loadConfigText(`site: { id: s1 }\nagent: { id: a1, dataDir: ${dataDir} }\nhttp: { host: 127.0.0.1, port: 0 }\nmachines: [{ id: m1 }]\n`, { file: 'child.yaml' });
if (!res.ok) throw new Error(JSON.stringify(res.problems));
const agent = new Agent(res.config, pino({ level: 'info' }));
// what agent/cli/main.ts does for `run`
agent.supervisor.installProcessHandlers(() => process.exit(1));
const { httpPort } = await agent.start();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

if (mode === 'unattributed') {
  setTimeout(() => {
    throw new Error('a bug outside every component');
  }, 20);
  await sleep(5000);
  process.stdout.write('{"verdict":"still running"}\n');
  process.exit(0);
}

// a component of its own: its first life throws from its interval on the third tick
let lives = 0;
let ticksOfLife = 0;
let timer: NodeJS.Timeout | undefined;
await agent.supervisor.start({
  name: 'ticker',
  start: () => {
    lives++;
    ticksOfLife = 0;
    const life = lives;
    timer = setInterval(() => {
      ticksOfLife++;
      if (life === 1 && ticksOfLife === 3) throw new Error('a bug in a timer of the ticker');
    }, 20);
  },
  stop: () => clearInterval(timer),
});
// the real retention component: a bug in one of its timers, and a rejection nobody awaits
agent.supervisor.run('retention', () => {
  setTimeout(() => {
    throw new Error('a bug in a retention timer');
  }, 30);
  setTimeout(() => {
    void Promise.reject(new Error('a forgotten rejection in retention'));
  }, 40);
});

const deadline = Date.now() + 20_000;
while (!(lives >= 2 && ticksOfLife >= 5) && Date.now() < deadline) await sleep(50);
// both retention faults arrive within one restart: one restart, two counts
await sleep(1500);
const healthz = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
const counted = (component: string): number => {
  const line = metrics.split('\n').find((l) => l.startsWith('shopfloor_agent_unexpected_errors_total{') && l.includes(`component="${component}"`));
  return line ? Number(line.split(' ').pop()) : 0;
};
await agent.stop();
process.stdout.write(`${JSON.stringify({ verdict: 'alive', lives, ticksOfLife, healthz: healthz.status, ticker: counted('ticker'), retention: counted('retention') })}\n`);
process.exit(0);

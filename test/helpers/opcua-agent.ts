/** Starting the real Agent against an OPC UA test server, with its log lines captured as JSON. */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../../agent/runtime/agent.ts';
import { loadConfigText } from '../../config/index.ts';

export interface AgentRun {
  agent: Agent;
  base: string;
  logs: Record<string, unknown>[];
  healthz(): Promise<{ status: string; sources: { id: string; state: string; detail?: string; problems?: { tag: string; status: string }[] }[] }>;
  stop(): Promise<void>;
}

/** `source` is the YAML of one opcua source (indented as a sources[] item). */
export async function startAgentWith(dir: string, sourceYaml: string, machines: string[] = ['m']): Promise<AgentRun> {
  const text = [
    'site: { id: test-site }',
    `agent: { id: test-agent, dataDir: ${JSON.stringify(join(dir, 'data'))}, logLevel: info }`,
    'http: { host: 127.0.0.1, port: 0 }',
    `machines: [${machines.map((m) => `{ id: ${m} }`).join(', ')}]`,
    'sources:',
    sourceYaml,
  ].join('\n');
  const res = loadConfigText(text, { file: 'test.yaml' });
  if (!res.ok) throw new Error(`bad test config: ${JSON.stringify(res.problems)}\n${text}`);
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const agent = new Agent(res.config, pino({ level: 'info' }, stream));
  const { httpPort } = await agent.start();
  const base = `http://127.0.0.1:${httpPort}`;
  return {
    agent,
    base,
    logs,
    healthz: async () => (await (await fetch(`${base}/healthz`)).json()) as Awaited<ReturnType<AgentRun['healthz']>>,
    stop: () => agent.stop(),
  };
}

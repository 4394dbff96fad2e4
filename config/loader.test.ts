import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatPath, formatProblems, loadConfigFile, loadConfigText, type ConfigProblem } from './index.ts';
import { renderSchemaJson, schemaJsonPath } from './generate-schema.ts';

const exampleEnv = {
  OPCUA_PASSWORD: 'opcua secret: with {yaml} , # syntax',
  MQTT_PASSWORD: 'mqtt-secret',
  UPSTREAM_PASSWORD: 'upstream-secret',
  SHOPFLOOR_HTTP_TOKEN: 'a-long-enough-dashboard-token',
};

const here = (file: string): string => new URL(file, import.meta.url).pathname;

function problemsOf(text: string, env: Record<string, string | undefined> = {}): ConfigProblem[] {
  const res = loadConfigText(text, { env });
  if (res.ok) throw new Error('expected the config to be invalid');
  return res.problems;
}

/** The one problem at `path`; fails listing all problems when there is none. */
function problemAt(text: string, path: string, env: Record<string, string | undefined> = {}): ConfigProblem {
  const problems = problemsOf(text, env);
  const p = problems.find((x) => x.path === path);
  if (!p) throw new Error(`no problem at ${path}; got:\n${formatProblems(problems)}`);
  return p;
}

// lines 1-2 of every broken config below
const head = `site: { id: plant-a, timezone: Europe/Berlin }
agent: { id: edge-01 }
`;
const machines = `machines:
  - { id: printer-1 }
  - { id: printer-2 }
`;

describe('broken configs name the exact path', () => {
  it('a bad OPC UA NodeId: sources[1].tags[3].nodeId, with its line', () => {
    const text = `${head}sources:
  - id: meters
    type: modbus
    host: 10.0.0.9
    registers: [{ machine: printer-1, signal: energy_kwh, address: 3204 }]
  - id: cell-opcua
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    tags:
      - { nodeId: "ns=2;s=Printer1.Energy", machine: printer-1, signal: energy_kwh }
      - { nodeId: "ns=2;s=Printer1.Parts", machine: printer-1, signal: parts_total }
      - { nodeId: "ns=2;s=Printer1.State", machine: printer-1, signal: state }
      - { nodeId: "Printer1.Scrap", machine: printer-1, signal: parts_scrap }
${machines}`;
    const p = problemAt(text, 'sources[1].tags[3].nodeId');
    expect(p).toMatchObject({ code: 'SFA_ERR_CONFIG_INVALID', line: 15 });
    expect(p.message).toContain('an OPC UA NodeId like "ns=2;s=Printer1.Energy"');
    expect(p.message).toContain('got "Printer1.Scrap"');
    expect(formatProblems([p], 'config/x.yaml')).toBe(
      'config/x.yaml:15: sources[1].tags[3].nodeId: an OPC UA NodeId like "ns=2;s=Printer1.Energy" or "ns=3;i=1001", got "Printer1.Scrap" [SFA_ERR_CONFIG_INVALID]',
    );
  });

  it('an unknown source type: sources[0].type, listing the allowed types', () => {
    const text = `${head}sources:
  - id: cell
    type: opcuaa
    endpoint: opc.tcp://10.0.0.5:4840
`;
    const p = problemAt(text, 'sources[0].type');
    expect(p.line).toBe(5);
    expect(p.message).toBe('unknown type "opcuaa": use one of opcua, mqtt, modbus (did you mean "opcua"?)');
  });

  it('a missing site.id: the line of the nearest existing parent', () => {
    const text = `# plant
site:
  name: Plant A
agent: { id: edge-01 }
`;
    const p = problemAt(text, 'site.id');
    expect(p.line).toBe(2);
    expect(p.message).toMatch(/^required/);
  });

  it('a missing site: the root', () => {
    expect(problemAt('agent: { id: edge-01 }\n', 'site').message).toMatch(/^required: a mapping/);
  });

  it('a bad time zone: site.timezone', () => {
    const p = problemAt('site: { id: a, timezone: Europe/Berlinn }\nagent: { id: b }\n', 'site.timezone');
    expect(p.message).toBe('an IANA time zone like Europe/Berlin, got "Europe/Berlinn"');
    expect(p.line).toBe(1);
  });

  it('a bad shift time: shifts[0].end', () => {
    const text = `${head}shifts:
  - name: night
    start: "22:00"
    end: "24:00"
`;
    const p = problemAt(text, 'shifts[0].end');
    expect(p).toMatchObject({ line: 6 });
    expect(p.message).toContain('"HH:MM"');
  });

  it('a negative port: http.port', () => {
    const p = problemAt(`${head}http: { host: 127.0.0.1, port: -8080 }\n`, 'http.port');
    expect(p.message).toBe('must be at least 0, got -8080');
  });

  it('a typo in a key: the path is the unknown key itself, with a suggestion', () => {
    const text = `${head}sources:
  - id: cell
    type: opcua
    endpointt: opc.tcp://10.0.0.5:4840
    tags: [{ nodeId: "ns=2;s=A", machine: printer-1, signal: state }]
${machines}`;
    const problems = problemsOf(text);
    const p = problems.find((x) => x.path === 'sources[0].endpointt');
    expect(p).toMatchObject({ line: 6, message: 'unknown key "endpointt" (did you mean "endpoint"?)' });
    // and the real key is then missing
    expect(problems.find((x) => x.path === 'sources[0].endpoint')?.message).toMatch(/^required/);
  });

  it('an unknown key without a close match lists the allowed keys', () => {
    const p = problemAt(`${head}buffer: { colour: blue }\n`, 'buffer.colour');
    expect(p.message).toBe('unknown key "colour": allowed keys are maxBytes, retainDays, synchronous, batchRows, batchMs, rollupMinuteDays, rollupHourDays');
  });

  it('a duplicate machine id: machines[1].id', () => {
    const text = `${head}machines:
  - { id: printer-1 }
  - { id: printer-1, name: copy }
`;
    const p = problemAt(text, 'machines[1].id');
    expect(p).toMatchObject({ line: 5, message: 'duplicate id "printer-1" (also machines[0])' });
  });

  it('a tag naming an unknown machine: sources[0].tags[1].machine', () => {
    const text = `${head}sources:
  - id: cell
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    tags:
      - { nodeId: "ns=2;s=A", machine: printer-1, signal: state }
      - { nodeId: "ns=2;s=B", machine: printer-9, signal: state }
${machines}`;
    const p = problemAt(text, 'sources[0].tags[1].machine');
    expect(p.line).toBe(9);
    expect(p.message).toContain('unknown machine "printer-9"');
  });

  it('an MQTT json topic without fields: sources[0].topics[0].fields', () => {
    const text = `${head}sources:
  - id: cells
    type: mqtt
    url: mqtt://127.0.0.1:1883
    topics:
      - filter: "plant/+/telemetry"
        machine: "{1}"
        format: json
`;
    const p = problemAt(text, 'sources[0].topics[0].fields');
    expect(p.line).toBe(8); // the topic: it has no "fields" key
    expect(p.message).toContain('needs "fields"');
  });

  it('a capture {2} with a single "+": sources[0].topics[0].machine', () => {
    const text = `${head}sources:
  - id: cells
    type: mqtt
    url: mqtt://127.0.0.1:1883
    topics:
      - { filter: "plant/+/telemetry", machine: "{2}", fields: { state: state } }
`;
    const p = problemAt(text, 'sources[0].topics[0].machine');
    expect(p.message).toBe('capture {2} does not exist: the filter has 1 "+" level(s)');
  });

  it('a missing environment variable names the variable and the path', () => {
    const text = `${head}sources:
  - id: cell
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    auth: { type: username, username: agent, password: \${OPCUA_PASSWORD} }
    tags: [{ nodeId: "ns=2;s=A", machine: printer-1, signal: state }]
${machines}`;
    const problems = problemsOf(text, { OTHER: 'x' });
    expect(problems).toEqual([
      {
        code: 'SFA_ERR_CONFIG_ENV',
        path: 'sources[0].auth.password',
        line: 7,
        column: expect.any(Number) as number,
        message: 'environment variable OPCUA_PASSWORD is not set: export it, or write ${OPCUA_PASSWORD:-default}',
      },
    ]);
    expect(formatProblems(problems, 'agent.yaml')).toMatch(/^agent\.yaml:7: sources\[0\]\.auth\.password: environment variable OPCUA_PASSWORD is not set/);
    // the same config is valid once it is set
    expect(loadConfigText(text, { env: { OPCUA_PASSWORD: 's3cret' } }).ok).toBe(true);
  });

  it('a non-localhost bind without a token: http.token', () => {
    const p = problemAt(`${head}http:\n  host: 0.0.0.0\n`, 'http.token');
    expect(p.line).toBe(3); // http has no token key: its parent's line
    expect(p.message).toContain('requires http.token');
  });

  it('a bad maxBytes string: buffer.maxBytes', () => {
    const p = problemAt(`${head}buffer:\n  maxBytes: 2 GiBs\n`, 'buffer.maxBytes');
    expect(p).toMatchObject({ line: 4, message: 'a size like 2GiB, 512MiB or a number of bytes, got "2 GiBs"' });
  });

  it('an invalid enum lists the allowed values', () => {
    const text = `${head}sources:
  - id: cell
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    securityMode: sign
    tags: [{ nodeId: "ns=2;s=A", machine: printer-1, signal: state }]
${machines}`;
    const p = problemAt(text, 'sources[0].securityMode');
    expect(p.message).toBe('must be one of None, Sign, SignAndEncrypt, got "sign" (did you mean "Sign"?)');
  });

  it('an unknown auth type: sources[0].auth.type', () => {
    const text = `${head}sources:
  - id: cell
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    auth: { type: password, password: x }
    tags: [{ nodeId: "ns=2;s=A", machine: printer-1, signal: state }]
${machines}`;
    expect(problemAt(text, 'sources[0].auth.type').message).toBe('unknown type "password": use one of anonymous, username, certificate');
  });

  it('a number where text is expected says to quote it, without echoing a secret', () => {
    const text = `${head}sources:
  - id: cells
    type: mqtt
    url: mqtt://127.0.0.1:1883
    username: 4711
    password: 123456
    topics: [{ filter: "mes/orders", format: order-events }]
`;
    const problems = problemsOf(text);
    expect(problems.find((p) => p.path === 'sources[0].username')?.message).toBe('expected a text, got 4711 (put it in quotes)');
    const pw = problems.find((p) => p.path === 'sources[0].password');
    expect(pw?.message).toBe('expected a text (put it in quotes)');
  });

  it('a record key that is not a signal: the key is the path', () => {
    const text = `${head}sources:
  - id: cells
    type: mqtt
    url: mqtt://127.0.0.1:1883
    topics:
      - filter: "plant/+/telemetry"
        machine: "{1}"
        fields:
          Energy: energy.kwh
          parts_total: { path: count.total, scal: 1 }
`;
    const problems = problemsOf(text);
    expect(problems.find((p) => p.path === 'sources[0].topics[0].fields.Energy')).toMatchObject({ line: 11 });
    expect(problems.find((p) => p.path === 'sources[0].topics[0].fields.parts_total.scal')).toMatchObject({
      line: 12,
      message: 'unknown key "scal" (did you mean "scale"?)',
    });
  });

  it('collects every problem, sorted by line', () => {
    const text = `site: { id: "bad id", timezone: Nowhere/City }
agent: { id: edge-01, logLevel: verbose }
http: { port: 70000 }
buffer: { retainDays: 0, maxBytes: lots }
shifts: [{ name: a, start: "6:00", end: "14:00" }]
`;
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [1, 'site.id'],
      [1, 'site.timezone'],
      [2, 'agent.logLevel'],
      [3, 'http.port'],
      [4, 'buffer.retainDays'], // same line: by column
      [4, 'buffer.maxBytes'],
      [5, 'shifts[0].start'],
    ]);
    expect(problems.every((p) => p.code === 'SFA_ERR_CONFIG_INVALID')).toBe(true);
  });

  it('an empty file and a file that is not a mapping', () => {
    expect(problemsOf('# nothing here\n')[0]).toMatchObject({ path: '', message: expect.stringContaining('empty') as string });
    expect(problemsOf('- a\n- b\n')[0]).toMatchObject({ path: '', line: 1, message: 'expected a mapping (key: value), got a list' });
  });
});

describe('YAML syntax errors', () => {
  it('names the line (and column) of the error', () => {
    const text = `site: { id: plant-a }
agent: { id: edge-01 }
http:
  host: 127.0.0.1
 port: 8080
`;
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.code === 'SFA_ERR_CONFIG_YAML')).toBe(true);
    expect(problems[0]).toMatchObject({ line: 5, column: 1, message: 'All mapping items must start at the same column' });
    expect(formatProblems(problems.slice(0, 1), 'agent.yaml')).toBe('agent.yaml:5:1: All mapping items must start at the same column [SFA_ERR_CONFIG_YAML]');
    expect(formatProblems(problems.slice(0, 1))).toBe('line 5, column 1: All mapping items must start at the same column [SFA_ERR_CONFIG_YAML]');
  });

  it('collects all of them, e.g. duplicate keys and a tab', () => {
    const text = `site: { id: plant-a }
agent: { id: edge-01 }
http:
  port: 8080
  port: 8081
buffer:
\tretainDays: 3
`;
    const problems = problemsOf(text);
    expect(problems.map((p) => p.line)).toEqual(expect.arrayContaining([5, 7]));
    expect(problems.find((p) => p.line === 5)?.message).toMatch(/unique/i);
  });
});

describe('${ENV_VAR} substitution', () => {
  const withAuth = (password: string): string => `${head}sources:
  - id: cell
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    auth: { type: username, username: agent, password: ${password} }
    tags: [{ nodeId: "ns=2;s=A", machine: printer-1, signal: state }]
${machines}`;

  function password(text: string, env: Record<string, string | undefined>): string {
    const res = loadConfigText(text, { env });
    if (!res.ok) throw new Error(formatProblems(res.problems));
    const src = res.config.sources[0];
    if (src?.type !== 'opcua' || src.auth.type !== 'username') throw new Error('unexpected source');
    return src.auth.password;
  }

  it('substitutes after parsing, so a secret with YAML syntax stays one value', () => {
    const secret = 'p: {a}, [b] # c "d" \'e\'';
    expect(password(withAuth('${OPCUA_PASSWORD}'), { OPCUA_PASSWORD: secret })).toBe(secret);
    expect(password(withAuth('"${OPCUA_PASSWORD}"'), { OPCUA_PASSWORD: secret })).toBe(secret);
  });

  it('uses a default when the variable is unset or empty', () => {
    expect(password(withAuth('${OPCUA_PASSWORD:-fallback}'), {})).toBe('fallback');
    expect(password(withAuth('${OPCUA_PASSWORD:-fallback}'), { OPCUA_PASSWORD: '' })).toBe('fallback');
    expect(password(withAuth('${OPCUA_PASSWORD:-fallback}'), { OPCUA_PASSWORD: 'set' })).toBe('set');
    expect(password(withAuth('${OPCUA_PASSWORD:-}'), {})).toBe('');
  });

  it('keeps $${X} as the literal ${X} and substitutes inside longer text', () => {
    expect(password(withAuth('"$${OPCUA_PASSWORD}"'), {})).toBe('${OPCUA_PASSWORD}');
    expect(password(withAuth('"pre-${A}-${B:-b}-$${C}"'), { A: 'a' })).toBe('pre-a-b-${C}');
  });

  it('does not substitute in comments or keys, and a value set to "" is not missing', () => {
    expect(password(`# \${NOT_SET} in a comment\n${withAuth('${EMPTY}')}`, { EMPTY: '' })).toBe('');
  });

  it('reports a malformed reference', () => {
    const p = problemAt(withAuth('"${ OPCUA_PASSWORD }"'), 'sources[0].auth.password');
    expect(p.code).toBe('SFA_ERR_CONFIG_ENV');
    expect(p.message).toContain('malformed reference');
  });

  it('a substituted value is text: a number field says so', () => {
    const p = problemAt(`${head}http: { port: \${HTTP_PORT} }\n`, 'http.port', { HTTP_PORT: '8081' });
    expect(p.message).toBe('expected a number, got "8081"; a value from ${…} is always text');
  });

  it('works with anchors, aliases and merge keys', () => {
    const text = `${head}sources:
  - &opc { id: a, type: opcua, endpoint: "opc.tcp://h:1", auth: { type: username, username: u, password: \${PW} }, tags: [{ nodeId: "ns=1;s=x", machine: printer-1, signal: state }] }
  - <<: *opc
    id: b
${machines}`;
    const res = loadConfigText(text, { env: { PW: 'p,w}' } });
    if (!res.ok) throw new Error(formatProblems(res.problems));
    expect(res.config.sources.map((s) => (s.type === 'opcua' && s.auth.type === 'username' ? [s.id, s.auth.password] : []))).toEqual([
      ['a', 'p,w}'],
      ['b', 'p,w}'],
    ]);
  });

  it('warns about a secret written into the file', () => {
    const res = loadConfigText(withAuth('hunter2'), {});
    expect(res.ok && res.warnings).toEqual(['line 7: sources[0].auth.password is written in the file: prefer ${ENV_VAR} so the secret stays out of it']);
  });
});

describe('loading files', () => {
  it('a missing file is SFA_ERR_CONFIG_NOT_FOUND', () => {
    const res = loadConfigFile(here('./does-not-exist.yaml'));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems[0]?.code).toBe('SFA_ERR_CONFIG_NOT_FOUND');
  });

  it('resolves a relative agent.dataDir against the working directory', () => {
    const text = 'site: { id: a }\nagent: { id: b, dataDir: data/x }\n';
    const res = loadConfigText(text, { cwd: '/srv/edge' });
    expect(res.ok && res.config.agent.dataDir).toBe('/srv/edge/data/x');
    const res2 = loadConfigText(text);
    expect(res2.ok && res2.config.agent.dataDir).toBe(resolve(process.cwd(), 'data/x'));
    const abs = loadConfigText('site: { id: a }\nagent: { id: b, dataDir: /var/lib/sfa }\n', { cwd: '/srv/edge' });
    expect(abs.ok && abs.config.agent.dataDir).toBe('/var/lib/sfa');
  });

  it('config/demo.yaml is valid without any environment', () => {
    const res = loadConfigFile(here('./demo.yaml'), {});
    if (!res.ok) throw new Error(formatProblems(res.problems, 'config/demo.yaml'));
    expect(res.warnings).toEqual([]);
    expect(res.config.simulator.enabled).toBe(true);
  });

  it('config/example.yaml is valid with its environment set, and names what it needs without it', () => {
    const res = loadConfigFile(here('./example.yaml'), exampleEnv);
    if (!res.ok) throw new Error(formatProblems(res.problems, 'config/example.yaml'));
    expect(res.warnings).toEqual([]);
    expect(res.config.http.token).toBe(exampleEnv.SHOPFLOOR_HTTP_TOKEN);
    expect(res.config.buffer.maxBytes).toBe(8 * 1024 ** 3);
    expect(res.config.upstream?.username).toBe('augsburg-edge-hall2-01');

    const bare = loadConfigFile(here('./example.yaml'), {});
    expect(bare.ok).toBe(false);
    if (!bare.ok) {
      expect(bare.problems.every((p) => p.code === 'SFA_ERR_CONFIG_ENV')).toBe(true);
      expect(bare.problems.map((p) => p.message.split(' ')[2]).sort()).toEqual(Object.keys(exampleEnv).sort());
    }
  });

  it('config/example.yaml uses every key of the schema', () => {
    const schema = JSON.parse(renderSchemaJson()) as JsonSchema;
    // the keys as written (the loaded config also holds defaults); substitution changes no key
    const data = parseYaml(readFileSync(here('./example.yaml'), 'utf8')) as unknown;
    const all = new Set<string>();
    const used = new Set<string>();
    schemaKeys(schema, '', all);
    usedKeys(schema, data, '', used);
    expect([...all].filter((k) => !used.has(k))).toEqual([]);
  });
});

describe('formatting', () => {
  it('formats paths with indices in brackets and keys dotted', () => {
    expect(formatPath(['sources', 1, 'tags', 3, 'nodeId'])).toBe('sources[1].tags[3].nodeId');
    expect(formatPath([])).toBe('');
    expect(formatPath(['benchmarks', 'baselines', 'bracket.a'])).toBe('benchmarks.baselines["bracket.a"]');
  });

  it('formats problems with and without a file', () => {
    const problems: ConfigProblem[] = [
      { code: 'SFA_ERR_CONFIG_NOT_FOUND', path: '', message: 'cannot read config file x.yaml' },
      { code: 'SFA_ERR_CONFIG_INVALID', path: 'http.port', line: 12, message: 'must be at most 65535, got 70000' },
    ];
    expect(formatProblems(problems, 'x.yaml')).toBe(
      'x.yaml: cannot read config file x.yaml [SFA_ERR_CONFIG_NOT_FOUND]\nx.yaml:12: http.port: must be at most 65535, got 70000 [SFA_ERR_CONFIG_INVALID]',
    );
    expect(formatProblems(problems.slice(1))).toBe('line 12: http.port: must be at most 65535, got 70000 [SFA_ERR_CONFIG_INVALID]');
  });
});

describe('config/schema.json', () => {
  it('is not stale', () => {
    const committed = readFileSync(schemaJsonPath, 'utf8');
    if (committed !== renderSchemaJson()) {
      expect.fail('config/schema.json is stale: run `npm run schema` and commit the result');
    }
  });

  it('is deterministic', () => {
    expect(renderSchemaJson()).toBe(renderSchemaJson());
    expect(renderSchemaJson().endsWith('}\n')).toBe(true);
  });
});

// --- every key of the schema, from its JSON Schema -------------------------------------

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

function schemaKeys(s: JsonSchema, prefix: string, out: Set<string>): void {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.add(path);
    schemaKeys(sub, path, out);
  }
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) schemaKeys(alt, prefix, out);
  if (s.items && !Array.isArray(s.items)) schemaKeys(s.items, `${prefix}[]`, out);
  if (typeof s.additionalProperties === 'object') schemaKeys(s.additionalProperties, `${prefix}.*`, out);
}

function usedKeys(s: JsonSchema, data: unknown, prefix: string, out: Set<string>): void {
  if (data === null || typeof data !== 'object') return;
  if (Array.isArray(data)) {
    if (s.items && !Array.isArray(s.items)) for (const d of data) usedKeys(s.items, d, `${prefix}[]`, out);
  } else {
    for (const [k, v] of Object.entries(data)) {
      const sub = s.properties?.[k];
      const path = prefix ? `${prefix}.${k}` : k;
      if (sub) {
        out.add(path);
        usedKeys(sub, v, path, out);
      } else if (typeof s.additionalProperties === 'object') {
        usedKeys(s.additionalProperties, v, `${prefix}.*`, out);
      }
    }
  }
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) usedKeys(alt, data, prefix, out);
}

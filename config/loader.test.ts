import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfigFile, loadConfigText } from './index.ts';
import { head, machines, problemAt, problemsOf } from './config-test-fixtures.ts';

const exampleEnv = {
  OPCUA_PASSWORD: 'opcua secret: with {yaml} , # syntax',
  MQTT_PASSWORD: 'mqtt-secret',
  UPSTREAM_PASSWORD: 'upstream-secret',
  SHOPFLOOR_HTTP_TOKEN: 'a-long-enough-dashboard-token',
};

const here = (file: string): string => new URL(file, import.meta.url).pathname;

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
    expect(p.message).toBe('unknown key "colour": allowed keys are maxBytes, retainDays, maxFutureS, synchronous, batchRows, batchMs, rollupMinuteDays, rollupHourDays');
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

});

import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfigText } from './index.ts';
import { head, machines, problemAt, problemsOf } from './config-test-fixtures.ts';

describe('broken configs name the exact path', () => {
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

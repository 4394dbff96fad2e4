import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfigText } from './index.ts';
import { head, machines, problemAt } from './config-test-fixtures.ts';

const withPassword = (ref: string): string => `${head}sources:
  - id: cell
    type: opcua
    endpoint: opc.tcp://10.0.0.5:4840
    auth: { type: username, username: agent, password: ${ref} }
    tags: [{ nodeId: "ns=2;s=A", machine: printer-1, signal: state }]
${machines}`;

function password(text: string, env: Record<string, string | undefined>): string {
  const res = loadConfigText(text, { env });
  if (!res.ok) throw new Error(formatProblems(res.problems));
  const src = res.config.sources[0];
  if (src?.type !== 'opcua' || src.auth.type !== 'username') throw new Error('unexpected source');
  return src.auth.password;
}

describe('secrets read from files (systemd credentials)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfa-cred-'));
  writeFileSync(join(dir, 'opcua-password'), 'pa:ss {w}, #rd\n');

  it('${credential:NAME} reads $CREDENTIALS_DIRECTORY/NAME without its trailing newline', () => {
    expect(password(withPassword('${credential:opcua-password}'), { CREDENTIALS_DIRECTORY: dir })).toBe('pa:ss {w}, #rd');
  });

  it('${file:/path} reads an absolute path', () => {
    expect(password(withPassword(`\${file:${join(dir, 'opcua-password')}}`), {})).toBe('pa:ss {w}, #rd');
  });

  it('names the missing file or directory, never a content', () => {
    expect(problemAt(withPassword('${credential:nope}'), 'sources[0].auth.password', { CREDENTIALS_DIRECTORY: dir }).message).toBe(
      `cannot read credential file ${join(dir, 'nope')} (no such file)`,
    );
    expect(problemAt(withPassword('${credential:opcua-password}'), 'sources[0].auth.password', {}).message).toMatch(/needs CREDENTIALS_DIRECTORY/);
    expect(problemAt(withPassword('${file:relative/path}'), 'sources[0].auth.password', {}).message).toMatch(/absolute path/);
    expect(problemAt(withPassword('${credential:../etc/shadow}'), 'sources[0].auth.password', { CREDENTIALS_DIRECTORY: dir }).message).toMatch(/may hold only/);
  });
});

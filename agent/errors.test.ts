import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { AgentError, ERRORS, isAgentError } from './errors.ts';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('./ERRORS.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/`(SFA_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]);

  it('documents every code, and nothing else', () => {
    expect(new Set(documented)).toEqual(new Set(Object.keys(ERRORS)));
  });

  it('documents each code with its own hint', () => {
    for (const [code, hint] of Object.entries(ERRORS)) expect(doc).toContain(`| \`${code}\` | ${hint} |`);
  });

  it('errors carry their code in the message and a hint', () => {
    const e = new AgentError('SFA_ERR_BUFFER_OPEN', 'cannot open /x/buffer.db');
    expect(e.message).toBe('cannot open /x/buffer.db [SFA_ERR_BUFFER_OPEN]');
    expect(e.hint).toMatch(/dataDir/);
    expect(isAgentError(e)).toBe(true);
    expect(isAgentError(new Error('x'))).toBe(false);
    expect(isAgentError({ code: 'SFA_ERR_USAGE' })).toBe(true);
  });
});

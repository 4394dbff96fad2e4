import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import { collectSecrets, guardStdio, Redactor, REDACTED } from './redact.ts';

const config = {
  sources: [
    { id: 'a', type: 'opcua', auth: { type: 'username', username: 'agent', password: 'opc"ua\\pw' } },
    { id: 'b', type: 'mqtt', url: 'mqtt://bob:url%40pass@10.0.0.1:1883', username: 'bob', password: 'mqtt-pw-1' },
  ],
  http: { token: 'tok-0123456789abcdef' },
  upstream: { url: 'mqtts://u:up-url-pw@central:8883', password: 'upstream-pw' },
};

describe('secrets', () => {
  it('collects every secret-bearing field and URL password', () => {
    expect(new Set(collectSecrets(config))).toEqual(new Set(['opc"ua\\pw', 'url@pass', 'url%40pass', 'mqtt-pw-1', 'tok-0123456789abcdef', 'up-url-pw', 'upstream-pw']));
  });

  it('collects the value of an unsubstituted ${NAME} in a secret field from the environment', () => {
    expect(collectSecrets({ password: '${PW}' }, { PW: 'from-env' })).toContain('from-env');
  });

  it('redacts known values as written, JSON-escaped and URL-encoded, URL userinfo and PEM keys', () => {
    const r = new Redactor(collectSecrets(config));
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----';
    const line = `x opc"ua\\pw ${JSON.stringify('opc"ua\\pw')} url%40pass ws://x:other-pw@h/ mqtt-pw-1 ${pem}`;
    const out = r.redact(line);
    for (const s of ['opc"ua\\pw', 'opc\\"ua\\\\pw', 'url%40pass', 'other-pw', 'mqtt-pw-1', 'MIIabc']) expect(out).not.toContain(s);
    expect(out).toContain(`ws://x:${REDACTED}@h/`);
  });

  it('the logger redacts message text, fields and error stacks at every level', () => {
    const lines: string[] = [];
    const log = createLogger('trace', { pretty: false, redactor: new Redactor(collectSecrets(config)), out: { write: (s) => lines.push(s) > 0 } });
    const err = new Error('connect failed for mqtt://bob:url%40pass@10.0.0.1 with mqtt-pw-1');
    log.trace({ pw: 'upstream-pw' }, 'trace upstream-pw');
    log.debug({ err }, 'debug');
    log.error({ err, nested: { deep: ['tok-0123456789abcdef'] } }, `error ${err.message}`);
    expect(lines).toHaveLength(3);
    const all = lines.join('');
    for (const s of ['upstream-pw', 'url%40pass', 'mqtt-pw-1', 'tok-0123456789abcdef']) expect(all).not.toContain(s);
    expect(all).toContain(REDACTED);
  });
});

describe('guardStdio', () => {
  it('redacts what else is written to a stream, strings and buffers, until restored', () => {
    const written: unknown[] = [];
    const stream = { write: (c: unknown) => written.push(c) > 0 } as unknown as NodeJS.WriteStream;
    const restore = guardStdio(new Redactor(['hunter2-pw']), [stream]);
    stream.write('warn: login hunter2-pw failed\n');
    stream.write(Buffer.from('at mqtt://u:p4ss@h:1883\n'));
    restore();
    stream.write('hunter2-pw');
    expect(written).toEqual([`warn: login ${REDACTED} failed\n`, `at mqtt://u:${REDACTED}@h:1883\n`, 'hunter2-pw']);
  });
});

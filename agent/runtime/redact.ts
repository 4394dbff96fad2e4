/**
 * Secrets never reach a log line (issue: observability). pino's `redact` matches fixed paths
 * only and never looks into message text or error stacks, and a driver library may put a
 * password into an error message (a URL with user:pass@, a rejected CONNECT). So redaction
 * happens on the finished line, just before it is written: every secret value known from the
 * config (and the forms JSON escaping gives it), every `scheme://user:pass@` userinfo and every
 * PEM private key block is replaced by `[REDACTED]`.
 */
import type { Writable } from 'node:stream';

export const REDACTED = '[REDACTED]';

/** config keys whose string values are secrets (any depth, any component) */
const SECRET_KEYS = /^(password|passphrase|token|secret|apiKey|privateKey|clientSecret)$/i;
/** `scheme://user:password@host`: the password part, up to the last `@` before the host */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'<>]*):([^\s/?#"'<>]*)@/gi;
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
/** shorter values would blank out ordinary words; a config with such a secret gets a warning elsewhere */
const MIN_SECRET_LENGTH = 4;

/** Every secret value in a config-shaped value: secret keys' strings and URL passwords. */
export function collectSecrets(value: unknown, env: Record<string, string | undefined> = {}): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, key: string | undefined): void => {
    if (typeof v === 'string') {
      if (key !== undefined && SECRET_KEYS.test(key) && v !== '') {
        out.add(v);
        // an unsubstituted `${NAME}` (an invalid config's raw text): the secret is NAME's value
        for (const m of v.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) {
          const e = env[m[1] ?? ''];
          if (e) out.add(e);
        }
      }
      for (const m of v.matchAll(URL_USERINFO)) {
        const password = safeDecode(m[3] ?? '');
        if (password) out.add(password).add(m[3] ?? '');
      }
    } else if (Array.isArray(v)) {
      for (const item of v) walk(item, key);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) walk(item, k);
    }
  };
  walk(value, undefined);
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Replaces known secrets and secret-shaped text in finished log lines. Secrets are only added. */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  constructor(secrets: Iterable<string> = []) {
    this.add(secrets);
  }

  /** Adds secrets (a reload may bring new ones; old ones stay: they may still be in flight). */
  add(secrets: Iterable<string>): void {
    for (const s of secrets) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      this.secrets.add(s);
      // as a JSON line writes it ("a\"b"), and as a URL carries it (p%40ss)
      this.secrets.add(JSON.stringify(s).slice(1, -1));
      this.secrets.add(encodeURIComponent(s));
    }
    const alternatives = [...this.secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'g') : undefined;
  }

  redact(text: string): string {
    let out = this.pattern ? text.replace(this.pattern, REDACTED) : text;
    if (out.includes('://')) out = out.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
    if (out.includes('PRIVATE KEY-----')) out = out.replace(PRIVATE_KEY, REDACTED);
    return out;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A write-only stream for pino that redacts each line before it reaches `out`. */
export function redactingDestination(out: Pick<Writable, 'write'>, redactor: Redactor): { write(line: string): boolean } {
  return { write: (line: string) => out.write(redactor.redact(line)) };
}

/**
 * Redacts whatever else the process writes to stdout and stderr (a library's console.warn, an
 * uncaught error's stack printed by Node): the log's own lines are already redacted, this covers
 * the writes that do not go through it. Returns the function that restores the streams.
 */
export function guardStdio(redactor: Redactor, streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): () => void {
  const restore: (() => void)[] = [];
  for (const stream of streams) {
    const original = stream.write;
    const write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
      const out = text === undefined ? chunk : redactor.redact(text);
      return (original as (c: unknown, ...r: unknown[]) => boolean).call(this, out, ...rest);
    };
    stream.write = write as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  return () => {
    for (const r of restore) r();
  };
}

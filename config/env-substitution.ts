/**
 * `${ENV_VAR}` substitution, after YAML parsing and only in string values (never in keys or
 * comments), so a secret containing `: # {` cannot change the structure. `${NAME}` needs NAME
 * set (it may be empty); `${NAME:-default}` uses the default when NAME is unset or empty (like
 * the shell); `$${NAME}` is the literal text `${NAME}`. A substituted value is always a string:
 * `port: ${PORT}` does not become a number.
 *
 * Secrets kept in files: `${credential:NAME}` is the content of `$CREDENTIALS_DIRECTORY/NAME`
 * (systemd's `LoadCredential=`, config/deploy/README.md) and `${file:/absolute/path}` the content
 * of that file; one trailing newline is dropped (editors add it). A missing file is a problem
 * naming the path, never the content.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, type Document } from 'yaml';
import type { ErrorCode } from '../agent/errors.ts';
import { formatPath, type PathSegment } from './problem-format.ts';
import { unmask } from './reference-mask.ts';
import { keyString } from './yaml-location.ts';

export interface EnvProblem {
  code: ErrorCode;
  path: string;
  segments: PathSegment[];
  message: string;
}

export interface Substitution {
  problems: EnvProblem[];
  /** formatted paths whose value came (at least partly) from the environment */
  substituted: Set<string>;
  /** password/token values written literally into the file */
  literalSecrets: PathSegment[][];
}

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const FILE_REFERENCE = /^(credential|file):([\s\S]+)$/;
const CREDENTIAL_NAME = /^[A-Za-z0-9_.@-]+$/;
const NAME_WITH_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;
/** keys whose values are secrets: never echoed, and better not written into the file */
export const SECRET_KEY = /^(password|token)$/i;

export function substituteEnv(doc: Document, env: Record<string, string | undefined>): Substitution {
  const out: Substitution = { problems: [], substituted: new Set(), literalSecrets: [] };
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && typeof pair.key.value === 'string') pair.key.value = unmask(pair.key.value);
        const key = keyString(pair.key);
        if (key !== undefined) walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string') {
      const raw = unmask(node.value);
      node.value = raw;
      const last = path[path.length - 1];
      if (!raw.includes('$')) {
        if (typeof last === 'string' && SECRET_KEY.test(last) && raw !== '') out.literalSecrets.push(path);
        return;
      }
      let touched = false;
      const value = raw.replace(REFERENCE, (whole, escape: string, inner: string) => {
        if (escape) return whole.slice(1);
        const where = formatPath(path);
        const fileRef = FILE_REFERENCE.exec(inner);
        if (fileRef) {
          touched = true;
          const read = readSecretFile(fileRef[1] as 'credential' | 'file', fileRef[2] ?? '', env);
          if (read.ok) return read.value;
          out.problems.push({ code: 'SFA_ERR_CONFIG_ENV', path: where, segments: path, message: read.message });
          return whole;
        }
        const m = NAME_WITH_DEFAULT.exec(inner);
        if (!m) {
          out.problems.push({ code: 'SFA_ERR_CONFIG_ENV', path: where, segments: path, message: `malformed reference "\${${inner}}": write \${NAME} or \${NAME:-default} (or $\${…} for the literal text)` });
          return whole;
        }
        const name = m[1] ?? '';
        const fallback = m[2];
        const v = env[name];
        touched = true;
        if (fallback !== undefined) return v === undefined || v === '' ? fallback : v;
        if (v === undefined) {
          out.problems.push({ code: 'SFA_ERR_CONFIG_ENV', path: where, segments: path, message: `environment variable ${name} is not set: export it, or write \${${name}:-default}` });
          return whole;
        }
        return v;
      });
      if (touched) out.substituted.add(formatPath(path));
      node.value = value;
    }
    // aliases point at an anchored node that is substituted where it is defined
  };
  walk(doc.contents, []);
  return out;
}

type SecretRead = { ok: true; value: string } | { ok: false; message: string };

/** Reads `${credential:NAME}` / `${file:PATH}`; a message names the file, never its content. */
function readSecretFile(kind: 'credential' | 'file', ref: string, env: Record<string, string | undefined>): SecretRead {
  let file: string;
  if (kind === 'credential') {
    const dir = env.CREDENTIALS_DIRECTORY;
    if (!CREDENTIAL_NAME.test(ref)) return { ok: false, message: `credential name "${ref}" may hold only letters, digits and . _ - @` };
    if (!dir) return { ok: false, message: `\${credential:${ref}} needs CREDENTIALS_DIRECTORY (set by systemd for LoadCredential=${ref}:…): run the agent as the service, or use \${file:/path}` };
    file = join(dir, ref);
  } else {
    if (!isAbsolute(ref)) return { ok: false, message: `\${file:${ref}} needs an absolute path` };
    file = ref;
  }
  try {
    return { ok: true, value: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'unreadable';
    return { ok: false, message: `cannot read ${kind} file ${file} (${why})` };
  }
}

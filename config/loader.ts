/**
 * Loads an agent config (DESIGN.md §6): YAML → `${ENV_VAR}` substitution → zod → Config.
 *
 * Every problem is collected (not just the first) and names its config path exactly as
 * `sources[1].tags[3].nodeId` and its line in the file, so `shopfloor-agent check` can list
 * them all at once. Nothing here throws on a bad config; the caller decides what to do.
 *
 * - Substitution happens after YAML parsing and only in string values (never in keys or
 *   comments), so a secret containing `: # {` cannot change the structure. `${NAME}` needs
 *   NAME set (it may be empty); `${NAME:-default}` uses the default when NAME is unset or
 *   empty (like the shell); `$${NAME}` is the literal text `${NAME}`. A substituted value is
 *   always a string: `port: ${PORT}` does not become a number.
 * - A relative `agent.dataDir` is resolved against the current working directory (the
 *   directory `shopfloor-agent` was started in, not the directory of the config file), and
 *   the returned config holds the absolute path.
 * - Schema checks that compare parts of the config (duplicate ids, tags naming unknown
 *   machines, http.token) run only once the config has the right shape, so those problems
 *   may show up only after the others are fixed.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { ErrorCode } from '../agent/errors.ts';
import { configSchema, type Config } from './schema.ts';

export interface ConfigProblem {
  code: ErrorCode;
  /** where in the config, formatted like `sources[1].tags[3].nodeId`; "" for the whole file */
  path?: string;
  /** 1-based line in the file, when known */
  line?: number;
  /** 1-based column in the file, when known */
  column?: number;
  message: string;
}

export type ConfigResult = { ok: true; config: Config; warnings: string[] } | { ok: false; problems: ConfigProblem[] };

export interface LoadConfigOptions {
  /** environment for `${NAME}` substitution (default: none, every reference is missing) */
  env?: Record<string, string | undefined>;
  /** the file name, used in messages about the file as a whole */
  file?: string;
  /** the directory a relative agent.dataDir is resolved against (default: process.cwd()) */
  cwd?: string;
}

type PathSegment = string | number;

/** Formats a path the way every message names it: `sources[1].tags[3].nodeId`; [] is "". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      if (/^[A-Za-z0-9_-]+$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Reads and loads a config file; a missing or unreadable file is a SFA_ERR_CONFIG_NOT_FOUND problem. */
export function loadConfigFile(path: string, env: Record<string, string | undefined> = process.env): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    return {
      ok: false,
      problems: [{ code: 'SFA_ERR_CONFIG_NOT_FOUND', path: '', message: `cannot read config file ${path} (${why}): pass -c FILE or set SHOPFLOOR_CONFIG` }],
    };
  }
  return loadConfigText(text, { env, file: path });
}

/** Parses, substitutes and validates config text. */
export function loadConfigText(text: string, opts: LoadConfigOptions = {}): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(maskReferences(text), { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const at = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: sortProblems(doc.errors.map((e) => ({ code: 'SFA_ERR_CONFIG_YAML' as const, ...at(e.pos[0]), message: yamlMessage(e.message) }))),
    };
  }
  const warnings = doc.warnings.map((w) => `line ${at(w.pos[0]).line ?? '?'}: ${yamlMessage(w.message)}`);

  const subst = substituteEnv(doc, opts.env ?? {});
  const lineOf = (path: readonly PathSegment[]): { line?: number; column?: number } => at(locate(doc, path));
  const problems: ConfigProblem[] = subst.problems.map(({ segments, ...p }) => ({ ...p, ...lineOf(segments) }));
  for (const p of subst.literalSecrets) {
    warnings.push(`line ${lineOf(p).line ?? '?'}: ${formatPath(p)} is written in the file: prefer \${ENV_VAR} so the secret stays out of it`);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, problems: [{ code: 'SFA_ERR_CONFIG_YAML', path: '', message: (err as Error).message }] };
  }
  if (data === null || data === undefined) {
    problems.push({ code: 'SFA_ERR_CONFIG_INVALID', path: '', line: 1, message: `${opts.file ?? 'the config'} is empty: it needs at least site.id and agent.id (see config/example.yaml)` });
    return { ok: false, problems: sortProblems(problems) };
  }

  const knownKeys = new WeakMap<object, string[]>();
  const parsed = configSchema.safeParse(data, { error: (iss) => defaultMessage(iss, knownKeys) });
  if (parsed.success && problems.length === 0) {
    const config = parsed.data;
    config.agent.dataDir = resolve(opts.cwd ?? process.cwd(), config.agent.dataDir);
    return { ok: true, config, warnings };
  }

  const envPaths = new Set(subst.problems.map((p) => formatPath(p.segments)));
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    for (const p of toProblems(issue, [], data, knownKeys)) {
      const path = formatPath(p.segments);
      if (envPaths.has(path)) continue; // the missing variable is the problem, not its placeholder
      const hint = subst.substituted.has(path) && /expected (a number|an integer|true or false)/.test(p.message) ? '; a value from ${…} is always text' : '';
      problems.push({ code: 'SFA_ERR_CONFIG_INVALID', path, ...lineOf(p.segments), message: p.message + hint });
    }
  }
  return { ok: false, problems: sortProblems(dedupe(problems)) };
}

/** `config/x.yaml:12: sources[1].tags[3].nodeId: an OPC UA NodeId like … [SFA_ERR_CONFIG_INVALID]`, one line each. */
export function formatProblems(problems: readonly ConfigProblem[], file?: string): string {
  return problems
    .map((p) => {
      let where: string;
      if (p.code === 'SFA_ERR_CONFIG_YAML' && p.line !== undefined) {
        // YAML syntax errors have no config path; the column helps to find them
        where = file ? `${file}:${p.line}:${p.column ?? 1}` : `line ${p.line}, column ${p.column ?? 1}`;
      } else if (p.line !== undefined) {
        where = file ? `${file}:${p.line}` : `line ${p.line}`;
      } else {
        where = file ?? 'config';
      }
      const path = p.path ? `${p.path}: ` : '';
      return `${where}: ${path}${p.message} [${p.code}]`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------
// YAML helpers

function yamlMessage(message: string): string {
  // yaml's messages may carry a trailing position or source excerpt; line and column are reported separately
  return unmask((message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim());
}

/*
 * `password: ${SECRET}` is a plain scalar in block style, but inside a flow mapping
 * (`auth: { type: username, password: ${SECRET} }`, as DESIGN.md writes it) "{", "}" and ","
 * end a plain scalar. So before parsing, the flow indicators inside each reference are swapped
 * for private-use characters (one UTF-16 unit each, so offsets and lines stay true) and swapped
 * back in every string scalar before substitution.
 */
const FLOW_CHARS = '{}[],';
const MASK_CHARS = '\uE000\uE001\uE002\uE003\uE004';

function maskReferences(text: string): string {
  if ([...MASK_CHARS].some((c) => text.includes(c))) return text;
  return text.replace(/\$\{[^}\n]*\}/g, (ref) => [...ref].map((c) => MASK_CHARS[FLOW_CHARS.indexOf(c)] ?? c).join(''));
}

function unmask(s: string): string {
  return /[\uE000-\uE004]/.test(s) ? [...s].map((c) => FLOW_CHARS[MASK_CHARS.indexOf(c)] ?? c).join('') : s;
}

function keyString(key: unknown): string | undefined {
  if (isScalar(key)) return typeof key.value === 'string' ? unmask(key.value) : String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

/**
 * Offset of the node at `path`, or of its nearest existing parent. For a map entry the key's
 * offset is used (a value may start lines later, e.g. a block list).
 */
function locate(doc: Document, path: readonly PathSegment[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyString(p.key) === String(seg));
      if (!pair) break;
      offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      const start = (item as { range?: [number, number, number] } | null | undefined)?.range?.[0];
      if (start === undefined) break;
      offset = start;
      node = item;
    } else break;
  }
  return offset;
}

// ---------------------------------------------------------------------------------------
// ${ENV_VAR} substitution

interface EnvProblem {
  code: ErrorCode;
  path: string;
  segments: PathSegment[];
  message: string;
}

interface Substitution {
  problems: EnvProblem[];
  /** formatted paths whose value came (at least partly) from the environment */
  substituted: Set<string>;
  /** password/token values written literally into the file */
  literalSecrets: PathSegment[][];
}

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME_WITH_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;
const SECRET_KEY = /^(password|token)$/i;

function substituteEnv(doc: Document, env: Record<string, string | undefined>): Substitution {
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

// ---------------------------------------------------------------------------------------
// zod issues → problems

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object': return 'a mapping (key: value)';
    case 'array': return 'a list';
    case 'string': return 'a text';
    case 'int': return 'an integer';
    case 'boolean': return 'true or false';
    case 'number': return 'a number';
    default: return article(expected);
  }
}

/** How a value reads in a message; secrets are never echoed. */
function describeValue(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function quoteAll(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}

/** zod's per-parse error map: a message for issues the schema gave none. Also notes each strict object's keys. */
function defaultMessage(iss: RawIssue, knownKeys: WeakMap<object, string[]>): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return `required: ${describeExpected(iss.expected)}`;
      return `expected ${describeExpected(iss.expected)}`;
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters long`;
      if (iss.origin === 'array' || iss.origin === 'set') return min <= 1 ? 'needs at least one entry' : `needs at least ${min} entries`;
      return iss.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'string') return `must be at most ${max} characters long`;
      if (iss.origin === 'array' || iss.origin === 'set') return `may have at most ${max} entries`;
      return iss.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    }
    case 'invalid_value':
      return iss.values.length === 1 ? `must be ${quoteAll(iss.values)}` : `must be one of ${quoteAll(iss.values)}`;
    case 'invalid_format':
      return `is not a valid ${iss.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(iss.divisor)}`;
    case 'unrecognized_keys': {
      const def = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def;
      if (def?.shape && typeof iss.input === 'object' && iss.input !== null) knownKeys.set(iss.input, Object.keys(def.shape));
      return `unknown key(s) ${iss.keys.join(', ')}`;
    }
    case 'invalid_key':
      return 'invalid key';
    default:
      return undefined;
  }
}

interface PathProblem {
  segments: PathSegment[];
  message: string;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function normalisedKey(s: string): string {
  return s.toLowerCase().replace(/[-_\s]/g, '');
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The known word closest to `word`, if it is close enough to be a typo. */
function closest(word: string, known: readonly string[]): string | undefined {
  const w = normalisedKey(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(w, normalisedKey(k));
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}

function didYouMean(word: unknown, known: readonly string[]): string {
  if (typeof word !== 'string') return '';
  const guess = closest(word, known);
  return guess !== undefined && guess !== word ? ` (did you mean "${guess}"?)` : '';
}

/** One zod issue → one or more problems with their full path (unions and unknown keys are split). */
function toProblems(issue: Issue, prefix: PathSegment[], data: unknown, knownKeys: WeakMap<object, string[]>): PathProblem[] {
  const segments: PathSegment[] = [...prefix, ...issue.path.map((s) => (typeof s === 'number' ? s : String(s)))];
  const value = valueAt(data, segments);
  const last = segments[segments.length - 1];
  const secret = typeof last === 'string' && (SECRET_KEY.test(last) || last === 'key');

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys.get(value as object) ?? [];
      return issue.keys.map((k) => {
        const guess = didYouMean(k, known);
        const message = guess ? `unknown key "${k}"${guess}` : `unknown key "${k}"${known.length > 0 ? `: allowed keys are ${known.join(', ')}` : ''}`;
        return { segments: [...segments, k], message };
      });
    }
    case 'invalid_union': {
      if (issue.discriminator !== undefined) {
        const options = ('options' in issue ? (issue.options ?? []) : []).map(String);
        const key = issue.discriminator;
        if (value === undefined) return [{ segments, message: `required: "${key}" is one of ${options.join(', ')}` }];
        return [{ segments, message: `unknown ${key} ${describeValue(value)}: use one of ${options.join(', ')}${didYouMean(value, options)}` }];
      }
      // Branches that failed only on their own type did not apply; report the one that did.
      const applicable = issue.errors.filter((branch) => !branch.every((b) => b.path.length === 0 && (b.code === 'invalid_type' || b.code === 'invalid_value')));
      if (applicable.length > 0) {
        const best = applicable.reduce((a, b) => (b.length < a.length ? b : a));
        return best.flatMap((b) => toProblems(b, segments, data, knownKeys));
      }
      const alternatives = issue.errors.flatMap((branch) =>
        branch.flatMap((b) => (b.code === 'invalid_type' ? [describeExpected(b.expected)] : b.code === 'invalid_value' ? b.values.map((v) => JSON.stringify(v)) : [])),
      );
      const unique = [...new Set(alternatives)];
      const expected = unique.length > 1 ? `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1] ?? ''}` : (unique[0] ?? 'something else');
      return [{ segments, message: withValue(`expected ${expected}`, value, secret, true) }];
    }
    case 'invalid_key': {
      const inner = issue.issues.map((i) => i.message).join('; ');
      return [{ segments, message: `invalid key ${JSON.stringify(last)}: ${inner}` }];
    }
    case 'invalid_value': {
      const options = issue.values.filter((v): v is string => typeof v === 'string');
      return [{ segments, message: withValue(issue.message, value, secret) + didYouMean(value, options) }];
    }
    default:
      return [{ segments, message: withValue(issue.message, value, secret, issue.code === 'invalid_type') }];
  }
}

/** Appends what was found, unless the message says it already or it is a secret. */
function withValue(message: string, value: unknown, secret: boolean, typeMismatch = false): string {
  if (value === undefined) return message;
  const quoteHint = typeMismatch && message === `expected ${describeExpected('string')}` && (typeof value === 'number' || typeof value === 'boolean') ? ' (put it in quotes)' : '';
  if (secret) return message + quoteHint;
  const shown = describeValue(value);
  if (typeof value === 'object' && value !== null ? !typeMismatch : message.includes(typeof value === 'string' ? value : shown)) return message + quoteHint;
  return `${message}, got ${shown}${quoteHint}`;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.code}\u0000${p.path ?? ''}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** By line; problems about the whole file (no line) first; ties keep their order. */
function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

/**
 * Loads an agent config (DESIGN.md §6): YAML → `${ENV_VAR}` substitution → zod → Config.
 *
 * Every problem is collected (not just the first) and names its config path exactly as
 * `sources[1].tags[3].nodeId` and its line in the file, so `shopfloor-agent check` can list
 * them all at once. Nothing here throws on a bad config; the caller decides what to do.
 *
 * - Substitution happens after YAML parsing and only in string values (env-substitution.ts).
 * - A relative `agent.dataDir` is resolved against the current working directory (the
 *   directory `shopfloor-agent` was started in, not the directory of the config file), and
 *   the returned config holds the absolute path.
 * - Schema checks that compare parts of the config (duplicate ids, tags naming unknown
 *   machines, http.token) run only once the config has the right shape, so those problems
 *   may show up only after the others are fixed.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { substituteEnv } from './env-substitution.ts';
import { dedupe, formatPath, sortProblems, type ConfigProblem, type PathSegment } from './problem-format.ts';
import { maskReferences } from './reference-mask.ts';
import { defaultMessage, toProblems } from './schema-problems.ts';
import { locate, yamlMessage } from './yaml-location.ts';

export type ConfigResult = { ok: true; config: Config; warnings: string[] } | { ok: false; problems: ConfigProblem[] };

export interface LoadConfigOptions {
  /** environment for `${NAME}` substitution (default: none, every reference is missing) */
  env?: Record<string, string | undefined>;
  /** the file name, used in messages about the file as a whole */
  file?: string;
  /** the directory a relative agent.dataDir is resolved against (default: process.cwd()) */
  cwd?: string;
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
  const res = loadWithSchema(text, configSchema, 'at least site.id and agent.id (see config/example.yaml)', opts);
  if (res.ok) res.config.agent.dataDir = resolve(opts.cwd ?? process.cwd(), res.config.agent.dataDir);
  return res;
}

export type SchemaResult<T> = { ok: true; config: T; warnings: string[] } | { ok: false; problems: ConfigProblem[] };

/**
 * YAML → `${ENV_VAR}` substitution → `schema`, every problem named by its path and line: the
 * loader of any config file the program reads (the agent's, the fleet's). `needs` completes
 * the message for an empty file ("… is empty: it needs <needs>").
 */
export function loadWithSchema<S extends z.ZodType>(text: string, schema: S, needs: string, opts: Omit<LoadConfigOptions, 'cwd'> = {}): SchemaResult<z.output<S>> {
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
    problems.push({ code: 'SFA_ERR_CONFIG_INVALID', path: '', line: 1, message: `${opts.file ?? 'the config'} is empty: it needs ${needs}` });
    return { ok: false, problems: sortProblems(problems) };
  }

  const knownKeys = new WeakMap<object, string[]>();
  const parsed = schema.safeParse(data, { error: (iss) => defaultMessage(iss, knownKeys) });
  if (parsed.success && problems.length === 0) return { ok: true, config: parsed.data as z.output<S>, warnings };

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

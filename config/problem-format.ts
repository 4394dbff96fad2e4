/**
 * A config problem, and how every message names where it is: `sources[1].tags[3].nodeId`,
 * with its line in the file.
 */
import type { ErrorCode } from '../agent/errors.ts';

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

export type PathSegment = string | number;

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

export function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.code}\u0000${p.path ?? ''}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** By line; problems about the whole file (no line) first; ties keep their order. */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

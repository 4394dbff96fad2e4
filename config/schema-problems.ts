/** zod's issues → problems with their full config path and a message that says what was expected. */
import type { z } from 'zod';
import { didYouMean } from './did-you-mean.ts';
import { SECRET_KEY } from './env-substitution.ts';
import type { PathSegment } from './problem-format.ts';

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
export function defaultMessage(iss: RawIssue, knownKeys: WeakMap<object, string[]>): string | undefined {
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

export interface PathProblem {
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

/** One zod issue → one or more problems with their full path (unions and unknown keys are split). */
export function toProblems(issue: Issue, prefix: PathSegment[], data: unknown, knownKeys: WeakMap<object, string[]>): PathProblem[] {
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

/**
 * What Grafana does to a PostgreSQL panel's rawSql before it reaches the database, so a test
 * can run the dashboards' SQL as Grafana would: template variables first (the front end's
 * SQL interpolation: a single value has its quotes doubled and is inserted bare, so queries
 * write '$site'; a multi-value or "include all" variable becomes a quoted, comma-separated
 * list), then the server's time macros (Grafana docs, "PostgreSQL query editor → Macros").
 * A macro or variable this expander does not know fails the test rather than passing through.
 */

export interface TimeRange {
  /** epoch ms */
  from: number;
  to: number;
}

export type VariableValues = Readonly<Record<string, string | readonly string[]>>;

/** `'5m'` → 300: Grafana's interval syntax (ms, s, m, h, d, w). */
export function intervalSeconds(text: string): number {
  const m = /^'?\s*(\d+(?:\.\d+)?)(ms|s|m|h|d|w)\s*'?$/.exec(text.trim());
  if (!m) throw new Error(`not a Grafana interval: ${text}`);
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * mult;
}

/** Grafana formats the range as RFC 3339 in UTC. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function quoteLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** `$name`, `${name}`, `${name:raw|sqlstring|csv}` and `[[name]]`; `$__…` are macros, left alone. */
export function interpolateVariables(sql: string, vars: VariableValues): string {
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(?!__)([A-Za-z_]\w*)/g, (whole, a?: string, fmt?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c) as string;
    const value = vars[name];
    if (value === undefined) throw new Error(`variable ${whole} has no value`);
    const list = typeof value === 'string' ? [value] : value;
    if (fmt === 'raw') return list.join(',');
    if (fmt === 'sqlstring') return list.map(quoteLiteral).join(',');
    if (fmt === 'csv') return list.join(',');
    if (fmt !== undefined) throw new Error(`variable format ${fmt} is not implemented by the test expander`);
    if (typeof value === 'string') return value.replace(/'/g, "''");
    return list.map(quoteLiteral).join(',');
  });
}

/** Splits a macro's argument list at top-level commas. */
function macroArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === ',') {
      args.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') args.push(cur.trim());
  return args;
}

function expandMacro(name: string, args: string[], range: TimeRange): string {
  const from = quoteLiteral(rfc3339(range.from));
  const to = quoteLiteral(rfc3339(range.to));
  const need = (n: number): void => {
    if (args.length < n) throw new Error(`$__${name} needs ${n} argument(s), got ${args.length}`);
  };
  switch (name) {
    case 'time':
      need(1);
      return `${args[0]} AS "time"`;
    case 'timeFilter':
      need(1);
      return `${args[0]} BETWEEN ${from} AND ${to}`;
    case 'timeFrom':
      return from;
    case 'timeTo':
      return to;
    case 'timeGroup':
    case 'timeGroupAlias': {
      need(2);
      // a fill value (third argument) changes the frame Grafana builds, not the SQL
      const s = intervalSeconds(args[1] as string);
      const expr = `floor(extract(epoch from ${args[0]})/${s})*${s}`;
      return name === 'timeGroupAlias' ? `${expr} AS "time"` : expr;
    }
    case 'unixEpochFilter':
      need(1);
      return `${args[0]} >= ${Math.floor(range.from / 1000)} AND ${args[0]} <= ${Math.floor(range.to / 1000)}`;
    case 'unixEpochFrom':
      return String(Math.floor(range.from / 1000));
    case 'unixEpochTo':
      return String(Math.floor(range.to / 1000));
    default:
      throw new Error(`macro $__${name} is not implemented by the test expander`);
  }
}

/** Expands `$__name(args)` macros, innermost text first, as Grafana's server does. */
export function expandMacros(sql: string, range: TimeRange): string {
  let out = '';
  let i = 0;
  for (;;) {
    const at = sql.indexOf('$__', i);
    if (at < 0) return out + sql.slice(i);
    out += sql.slice(i, at);
    const m = /^\$__(\w+)\(/.exec(sql.slice(at));
    if (!m) throw new Error(`a macro without arguments at "${sql.slice(at, at + 30)}"`);
    let depth = 1;
    let j = at + m[0].length;
    for (; j < sql.length && depth > 0; j++) {
      if (sql[j] === '(') depth++;
      if (sql[j] === ')') depth--;
    }
    if (depth !== 0) throw new Error(`unclosed macro at "${sql.slice(at, at + 30)}"`);
    const inner = sql.slice(at + m[0].length, j - 1);
    out += expandMacro(m[1] as string, macroArgs(inner), range);
    i = j;
  }
}

/** Variables, then macros: the SQL PostgreSQL receives from Grafana. */
export function grafanaSql(rawSql: string, range: TimeRange, vars: VariableValues): string {
  return expandMacros(interpolateVariables(rawSql, vars), range);
}

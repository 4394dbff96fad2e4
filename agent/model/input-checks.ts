/**
 * What makes a name or a text from the plant safe to keep (DESIGN.md §2, the input boundary):
 * machine and signal names become upstream MQTT topic levels, SQL keys and dashboard text, so
 * they must be non-empty, short, well-formed, and free of topic separators, wildcards and control
 * characters. Pure: the boundary (agent/plant/input-boundary.ts) and the decoders that read
 * names from payloads (MES order events) share these.
 */

export const INPUT_LIMITS = {
  /** machine and signal names, in UTF-16 code units (the config's ids allow 128 too) */
  maxNameChars: 128,
  /** an order id or product from an MES */
  maxTextChars: 256,
  /** a string value (a text tag, an order event's JSON) */
  maxStringValueChars: 4096,
  /** a value or name quoted inside a dead letter's reason */
  maxQuotedChars: 64,
} as const;

// C0 and C1 controls (NUL included), and U+FFFD: what invalid UTF-8 becomes when decoded
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\ufffd]/;
const TOPIC_CHARS = /[/+#]/;
// a lone surrogate (JSON "\ud800"): not encodable as UTF-8
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A short quotation of anything for a reason: JSON-ish, cut at maxQuotedChars with its length. */
export function quote(v: unknown, max: number = INPUT_LIMITS.maxQuotedChars): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v.length > max * 2 ? v.slice(0, max * 2) : v);
  else if (typeof v === 'number') s = String(v);
  else if (typeof v === 'bigint') s = `${v}n`;
  else if (v === undefined) s = 'undefined';
  else {
    try {
      s = JSON.stringify(v) ?? typeof v;
    } catch {
      s = typeof v;
    }
  }
  const full = typeof v === 'string' ? v.length : s.length;
  return s.length > max ? `${s.slice(0, max)}… (${full} chars)` : s;
}

/** Why a text from the plant is unusable, or undefined when it is fine. */
export function textProblem(what: string, v: unknown, max: number = INPUT_LIMITS.maxTextChars): string | undefined {
  if (typeof v !== 'string') return `${what} is not a string`;
  if (v.length === 0) return `${what} is empty`;
  if (v.length > max) return `${what} of ${v.length} chars exceeds ${max}`;
  if (UNSAFE_CHARS.test(v)) return `${what} ${quote(v)} holds a control character or invalid UTF-8`;
  if (LONE_SURROGATE.test(v)) return `${what} ${quote(v)} is not well-formed Unicode`;
  return undefined;
}

/**
 * Why a machine or signal name is unusable, or undefined when it is safe as a topic level:
 * a text (above) without "/" (a level separator) or the wildcards "+" and "#".
 */
export function nameProblem(what: 'machine' | 'signal', v: unknown): string | undefined {
  const p = textProblem(what, v, INPUT_LIMITS.maxNameChars);
  if (p !== undefined) return p;
  if (TOPIC_CHARS.test(v as string)) return `${what} ${quote(v)} holds "/", "+" or "#" (it would become MQTT topic levels or wildcards)`;
  return undefined;
}

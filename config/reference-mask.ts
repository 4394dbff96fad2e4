/**
 * Keeping `${…}` references whole through the YAML parser.
 *
 * `password: ${SECRET}` is a plain scalar in block style, but inside a flow mapping
 * (`auth: { type: username, password: ${SECRET} }`, as DESIGN.md writes it) "{", "}" and ","
 * end a plain scalar. So before parsing, the flow indicators inside each reference are swapped
 * for private-use characters (one UTF-16 unit each, so offsets and lines stay true) and swapped
 * back in every string scalar before substitution.
 */
const FLOW_CHARS = '{}[],';
const MASK_CHARS = '\uE000\uE001\uE002\uE003\uE004';

export function maskReferences(text: string): string {
  if ([...MASK_CHARS].some((c) => text.includes(c))) return text;
  return text.replace(/\$\{[^}\n]*\}/g, (ref) => [...ref].map((c) => MASK_CHARS[FLOW_CHARS.indexOf(c)] ?? c).join(''));
}

export function unmask(s: string): string {
  return /[\uE000-\uE004]/.test(s) ? [...s].map((c) => FLOW_CHARS[MASK_CHARS.indexOf(c)] ?? c).join('') : s;
}

/** Where a config path is in the YAML text, and YAML's own messages without their positions. */
import { isAlias, isMap, isScalar, isSeq, type Document } from 'yaml';
import type { PathSegment } from './problem-format.ts';
import { unmask } from './reference-mask.ts';

export function yamlMessage(message: string): string {
  // yaml's messages may carry a trailing position or source excerpt; line and column are reported separately
  return unmask((message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim());
}

/** A mapping key as text, its masked references restored. */
export function keyString(key: unknown): string | undefined {
  if (isScalar(key)) return typeof key.value === 'string' ? unmask(key.value) : String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

/**
 * Offset of the node at `path`, or of its nearest existing parent. For a map entry the key's
 * offset is used (a value may start lines later, e.g. a block list).
 */
export function locate(doc: Document, path: readonly PathSegment[]): number | undefined {
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

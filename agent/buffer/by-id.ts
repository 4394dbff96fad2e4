/**
 * Per-series state kept in arrays indexed by series id (ids are dense, from 1): an index per
 * sample instead of a hash look-up. Holes are filled in order, so V8 keeps the array in fast
 * elements (an element written far past the end would switch it to slow sparse storage).
 */
export function setById<T>(byId: (T | undefined)[], id: number, value: T): void {
  while (byId.length < id) byId.push(undefined);
  byId[id] = value;
}

/** Typo suggestions: the known word closest to a misspelt key or value. */

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

export function didYouMean(word: unknown, known: readonly string[]): string {
  if (typeof word !== 'string') return '';
  const guess = closest(word, known);
  return guess !== undefined && guess !== word ? ` (did you mean "${guess}"?)` : '';
}

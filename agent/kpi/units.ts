/** Units: any two of total, good and scrap give the third (DESIGN.md §3). */

export interface UnitCounts {
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
}

/**
 * Completes the three counts; `null` means the machine has no counter for it. When all three
 * are measured they are used as measured (even if they disagree). A derived count is plain
 * arithmetic and can be negative when the counters disagree; it is not clamped.
 */
export function completeUnits(total: number | null, good: number | null, scrap: number | null): UnitCounts {
  if (total !== null && good !== null && scrap === null) return { unitsTotal: total, unitsGood: good, unitsScrap: total - good };
  if (total !== null && good === null && scrap !== null) return { unitsTotal: total, unitsGood: total - scrap, unitsScrap: scrap };
  if (total === null && good !== null && scrap !== null) return { unitsTotal: good + scrap, unitsGood: good, unitsScrap: scrap };
  return { unitsTotal: total, unitsGood: good, unitsScrap: scrap };
}

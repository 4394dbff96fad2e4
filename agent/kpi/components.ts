/**
 * Additive components and the ratios computed from them. A line, a site or the fleet is
 * the sum of its machines' components (and a day the sum of its hours); ratios are always
 * recomputed from the sums, never averaged (DESIGN.md §4).
 */

import { mergeLeadTime, ZERO_LEAD_TIME, type LeadTimeComponents } from './lead-time.ts';

/**
 * Durations in seconds, energy in kWh, counts in units. A `null` count or energy means "not
 * measured" (the machine has no such signal); it makes the sum `null` too, so a rolled-up
 * ratio is either right or absent, never computed over a mismatched subset.
 */
export interface KpiComponents extends LeadTimeComponents {
  /** window length */
  windowS: number;
  /** planned time minus planned stops: `windowS − plannedStopS − unscheduledS` */
  plannedS: number;
  runningS: number;
  idleS: number;
  downS: number;
  plannedStopS: number;
  /** planned time with no known state */
  unknownS: number;
  /** time outside the planned intervals (shifts) */
  unscheduledS: number;
  energyKwh: number | null;
  unitsTotal: number | null;
  unitsGood: number | null;
  unitsScrap: number | null;
  /** `idealCycleTimeS × unitsTotal` (null without an ideal cycle time or a total) */
  idealS: number | null;
  qaInspected: number | null;
  qaRejected: number | null;
  qaEscaped: number | null;
  qaFalseReject: number | null;
  /** Σ energy × the tariff's price at the time it was used (null without a tariff or energy) */
  energyCost: number | null;
  /** Σ energy × the grid emission factor, kg CO2e (null without a factor or energy) */
  co2eKg: number | null;
}

/** Ratios are 0–1 (performance may exceed 1: reported as measured, flagged). */
export interface KpiRatios {
  /** `energyKwh / unitsGood`; null when either is unknown or `unitsGood ≤ 0` */
  energyPerUnitKwh: number | null;
  /** `unitsScrap / unitsTotal`; null when unknown or `unitsTotal ≤ 0` */
  scrapRate: number | null;
  /**
   * `runningS / (plannedS − unknownS)`: planned time with no known state (the agent was not
   * running, a source was down) is neither running nor down, so it is left out; null when no
   * planned time was measured
   */
  availability: number | null;
  /** `(plannedS − unknownS) / plannedS`: how much of the planned time was measured; null when `plannedS = 0` */
  coverage: number | null;
  /** `idealS / runningS`; null without `idealS` or when `runningS = 0` */
  performance: number | null;
  performanceOver1: boolean;
  /** `unitsGood / unitsTotal`; null when unknown or `unitsTotal ≤ 0` */
  quality: number | null;
  /** availability × performance × quality; null when any is null */
  oee: number | null;
  /** `(qaInspected − qaEscaped − qaFalseReject) / qaInspected`; null when any is unknown or none inspected */
  qaAccuracy: number | null;
  /** `energyCost / unitsGood` */
  costPerUnit: number | null;
  /** `co2eKg / unitsGood` */
  co2ePerUnitKg: number | null;
}

/** The identity of `mergeComponents` (a known zero of everything). */
export const ZERO_COMPONENTS: Readonly<KpiComponents> = Object.freeze({
  windowS: 0,
  plannedS: 0,
  runningS: 0,
  idleS: 0,
  downS: 0,
  plannedStopS: 0,
  unknownS: 0,
  unscheduledS: 0,
  energyKwh: 0,
  unitsTotal: 0,
  unitsGood: 0,
  unitsScrap: 0,
  idealS: 0,
  qaInspected: 0,
  qaRejected: 0,
  qaEscaped: 0,
  qaFalseReject: 0,
  energyCost: 0,
  co2eKg: 0,
  ...ZERO_LEAD_TIME,
});

function addKnown(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}

/** The components of two machines (or two adjacent windows) taken together. */
export function mergeComponents(a: Readonly<KpiComponents>, b: Readonly<KpiComponents>): KpiComponents {
  return {
    windowS: a.windowS + b.windowS,
    plannedS: a.plannedS + b.plannedS,
    runningS: a.runningS + b.runningS,
    idleS: a.idleS + b.idleS,
    downS: a.downS + b.downS,
    plannedStopS: a.plannedStopS + b.plannedStopS,
    unknownS: a.unknownS + b.unknownS,
    unscheduledS: a.unscheduledS + b.unscheduledS,
    energyKwh: addKnown(a.energyKwh, b.energyKwh),
    unitsTotal: addKnown(a.unitsTotal, b.unitsTotal),
    unitsGood: addKnown(a.unitsGood, b.unitsGood),
    unitsScrap: addKnown(a.unitsScrap, b.unitsScrap),
    idealS: addKnown(a.idealS, b.idealS),
    qaInspected: addKnown(a.qaInspected, b.qaInspected),
    qaRejected: addKnown(a.qaRejected, b.qaRejected),
    qaEscaped: addKnown(a.qaEscaped, b.qaEscaped),
    qaFalseReject: addKnown(a.qaFalseReject, b.qaFalseReject),
    energyCost: addKnown(a.energyCost, b.energyCost),
    co2eKg: addKnown(a.co2eKg, b.co2eKg),
    ...mergeLeadTime(a, b),
  };
}

/** Σ of any number of components (`ZERO_COMPONENTS` for none). */
export function sumComponents(list: readonly Readonly<KpiComponents>[]): KpiComponents {
  let acc: KpiComponents = { ...ZERO_COMPONENTS };
  for (const c of list) acc = mergeComponents(acc, c);
  return acc;
}

/** The ratios of a machine row, and of any rollup of rows. */
export function ratiosFromComponents(c: Readonly<KpiComponents>): KpiRatios {
  const { energyKwh, unitsTotal, unitsGood, unitsScrap, idealS, runningS, plannedS } = c;
  const hasTotal = unitsTotal !== null && unitsTotal > 0;
  const measuredS = plannedS - c.unknownS;
  const availability = plannedS > 0 && measuredS > 0 ? runningS / measuredS : null;
  const performance = idealS !== null && runningS > 0 ? idealS / runningS : null;
  const quality = hasTotal && unitsGood !== null ? unitsGood / unitsTotal : null;
  const { qaInspected, qaEscaped, qaFalseReject } = c;
  const hasGood = unitsGood !== null && unitsGood > 0;
  return {
    energyPerUnitKwh: energyKwh !== null && hasGood ? energyKwh / unitsGood : null,
    scrapRate: hasTotal && unitsScrap !== null ? unitsScrap / unitsTotal : null,
    availability,
    coverage: plannedS > 0 ? measuredS / plannedS : null,
    performance,
    performanceOver1: performance !== null && performance > 1,
    quality,
    oee: availability !== null && performance !== null && quality !== null ? availability * performance * quality : null,
    qaAccuracy:
      qaInspected !== null && qaInspected > 0 && qaEscaped !== null && qaFalseReject !== null
        ? (qaInspected - qaEscaped - qaFalseReject) / qaInspected
        : null,
    costPerUnit: c.energyCost !== null && hasGood ? c.energyCost / unitsGood : null,
    co2ePerUnitKg: c.co2eKg !== null && hasGood ? c.co2eKg / unitsGood : null,
  };
}

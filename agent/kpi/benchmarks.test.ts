import { describe, expect, it } from 'vitest';
import { benchmarkRows, BENCHMARK_KPIS, BRIEF_BANDS, type ProductFigures } from './benchmarks.ts';
import { ZERO_COMPONENTS, type KpiComponents } from './components.ts';
import { leadTimeComponents } from './lead-time.ts';

const comps = (over: Partial<KpiComponents>): KpiComponents => ({ ...ZERO_COMPONENTS, energyCost: null, co2eKg: null, qaInspected: null, ...over });

function rowsFor(over: Partial<KpiComponents>, baseline: Record<string, number> | undefined, cumulativeUnits: number | null = 500) {
  const p: ProductFigures = { product: 'p', components: comps(over), cumulativeUnits };
  return Object.fromEntries(benchmarkRows([p], baseline ? { p: baseline } : {}).map((r) => [r.kpi, r]));
}

describe('benchmarks (DESIGN.md §5)', () => {
  it('has one row per KPI of §5 with the brief\'s band and source', () => {
    const rows = benchmarkRows([{ product: 'p', components: comps({}), cumulativeUnits: 0 }], {});
    expect(rows.map((r) => r.kpi)).toEqual([...BENCHMARK_KPIS]);
    expect(rows.map((r) => r.source)).toEqual([
      'IEA Industry Report, 2023',
      'McKinsey Global Institute, 2022',
      'Deloitte Manufacturing Survey, 2023',
      'Deloitte Manufacturing Survey, 2023',
      'McKinsey Global Institute, 2022',
    ]);
    expect(rows.map((r) => r.band)).toEqual([[0.2, 0.4], [0.5, 0.9], [0, 0.25], [0.9, 0.99], [0, 10000]]);
  });

  it('energy per unit: extra energy below +20 % is better, +20…40 % within, above worse', () => {
    // baseline 1 kWh/unit; 100 good units
    const v = (kwh: number) => rowsFor({ energyKwh: kwh, unitsGood: 100, unitsTotal: 100, unitsScrap: 0 }, { energyPerUnitKwh: 1 }).energyPerUnit;
    expect(v(110)).toMatchObject({ value: 1.1, baseline: 1, verdict: 'better' }); // +10 %
    expect(v(110)?.change).toBeCloseTo(0.1, 12);
    expect(v(130)).toMatchObject({ verdict: 'within' }); // +30 %
    expect(v(140)).toMatchObject({ verdict: 'within' }); // +40 %: the band's end is within
    expect(v(150)).toMatchObject({ verdict: 'worse' }); // +50 %
  });

  it('lead time and scrap: reductions beyond the band are better, short of it worse', () => {
    const lt = (s: number) => rowsFor(leadTimeComponents([{ leadTimeS: s, fromRelease: true }]), { leadTimeS: 1000 }).leadTime;
    expect(lt(50)).toMatchObject({ verdict: 'better', value: 50 }); // 95 % shorter
    expect(lt(300)).toMatchObject({ verdict: 'within' }); // 70 %
    expect(lt(800)).toMatchObject({ verdict: 'worse' }); // 20 %
    expect(lt(300)?.change).toBeCloseTo(0.7, 12);
    const scrap = (n: number) => rowsFor({ unitsTotal: 100, unitsScrap: n, unitsGood: 100 - n }, { scrapRate: 0.1 }).scrapRate;
    expect(scrap(7)).toMatchObject({ verdict: 'better' }); // 30 % less scrap
    expect(scrap(9)).toMatchObject({ verdict: 'within' }); // 10 % less
    expect(scrap(12)).toMatchObject({ verdict: 'worse' }); // 20 % more
    expect(rowsFor({ unitsTotal: 100, unitsScrap: 1, unitsGood: 99 }, { scrapRate: 0 }).scrapRate).toMatchObject({ verdict: 'worse', change: null });
  });

  it('says no-baseline without a baseline and no-data without a measurement; never invents one', () => {
    const r = rowsFor({ energyKwh: 10, unitsGood: 10, unitsTotal: 10, unitsScrap: 0 }, undefined, null);
    expect(r.energyPerUnit).toMatchObject({ verdict: 'no-baseline', value: 1, baseline: null, change: null });
    expect(r.leadTime).toMatchObject({ verdict: 'no-baseline', value: null });
    expect(r.qaAccuracy).toMatchObject({ verdict: 'no-data' });
    expect(r.productLineVolume).toMatchObject({ verdict: 'no-data' });
    expect(rowsFor({}, { leadTimeS: 100 }).leadTime).toMatchObject({ verdict: 'no-data', baseline: 100 });
  });

  it('QA accuracy against 90–99 %, volume against 10,000 units', () => {
    const qa = (escaped: number) => rowsFor({ qaInspected: 1000, qaEscaped: escaped, qaFalseReject: 0 }, undefined).qaAccuracy;
    expect(qa(5)).toMatchObject({ verdict: 'better' }); // 99.5 %
    expect(qa(50)).toMatchObject({ verdict: 'within', value: 0.95 });
    expect(qa(150)).toMatchObject({ verdict: 'worse' });
    expect(rowsFor({}, undefined, 9_999).productLineVolume).toMatchObject({ verdict: 'within', value: 9_999 });
    expect(rowsFor({}, undefined, 10_001).productLineVolume).toMatchObject({ verdict: 'worse' });
  });

  it('takes bands from config when given', () => {
    const rows = benchmarkRows([{ product: 'p', components: comps({ energyKwh: 130, unitsGood: 100 }), cumulativeUnits: 1 }], { p: { energyPerUnitKwh: 1 } }, {
      energyPerUnit: { band: [0.35, 0.5], source: 'Our own study' },
    });
    expect(rows[0]).toMatchObject({ verdict: 'better', source: 'Our own study', band: [0.35, 0.5] });
    expect(rows[1]?.source).toBe(BRIEF_BANDS.leadTime.source);
  });
});

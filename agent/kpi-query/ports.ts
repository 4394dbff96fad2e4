/**
 * What the KPI service takes of the plant and of the buffer: narrow ports (STYLE.md 11), so a
 * test or the `kpi` command hands it what it reads and nothing more. The buffer is the only
 * code that speaks SQL (DESIGN.md §2).
 */
import type { SqliteBuffer } from '../buffer/index.ts';
import type { Plant } from '../plant/index.ts';

export type KpiPlant = Pick<Plant, 'site' | 'shifts' | 'energy' | 'benchmarks' | 'machineIds' | 'machine' | 'isConfigured' | 'rollover'>;

export type KpiBuffer = Pick<
  SqliteBuffer,
  'onCommit' | 'machines' | 'signals' | 'latest' | 'window' | 'series' | 'hourRollups' | 'hourRollupsCompleteUntil' | 'samplesOfSignals' | 'oldestTs'
>;

/**
 * The fleet demo's history: a site started for the first time has no closed hour yet, so the
 * fleet would have nothing to compare for up to an hour. Before its agent starts, an empty
 * buffer gets the last few whole hours from the demo plant's own model (the same seed, the
 * speed the live simulator runs at), one reading a minute per machine, as the agent would have
 * read them; the agent then publishes those hours' components upstream on its first start.
 */
import { PlantModel, MACHINE_IDS } from '../../drivers/simulator/index.ts';
import { SqliteBuffer } from '../buffer/index.ts';
import type { Sample } from '../model/index.ts';
import { Plant } from '../plant/index.ts';
import type { Config } from '../../config/schema.ts';

const MIN = 60_000;
const H = 3_600_000;

export const DEMO_HISTORY_DEFAULTS = { hours: 3, everyMs: MIN } as const;

/** Readings of every machine over [from, to), `speed` simulated seconds per real second. */
export function demoHistory(seed: number, speed: number, from: number, to: number, everyMs: number = DEMO_HISTORY_DEFAULTS.everyMs): Sample[] {
  const model = new PlantModel({ seed });
  model.takeInitialEvents();
  const steps = Math.max(1, Math.round((everyMs / 1000) * speed));
  const out: Sample[] = [];
  for (let ts = from; ts < to; ts += everyMs) {
    for (let i = 0; i < steps; i++) model.step();
    for (const id of MACHINE_IDS) {
      const s = model.snapshot(id);
      out.push(
        { machine: id, signal: 'energy_kwh', ts, value: s.energyWh / 1000, quality: 'good' },
        { machine: id, signal: 'parts_total', ts, value: s.partsTotal, quality: 'good' },
        { machine: id, signal: 'parts_scrap', ts, value: s.partsScrap, quality: 'good' },
        { machine: id, signal: 'state', ts, value: s.state, quality: 'good' },
        { machine: id, signal: 'order_id', ts, value: s.orderId, quality: 'good' },
      );
    }
  }
  return out;
}

/** Fills an empty buffer with the last `hours` whole hours; returns how many samples (0: it held data already). */
export function backfillDemoHistory(config: Config, hours: number = DEMO_HISTORY_DEFAULTS.hours, now = Date.now()): number {
  const plant = new Plant(config);
  const buffer = new SqliteBuffer({ dataDir: plant.dataDir, rollupSeries: plant });
  try {
    if (buffer.stats().lastId > 0) return 0;
    const to = Math.floor(now / H) * H;
    const samples = demoHistory(config.simulator.seed, config.simulator.speed, to - hours * H, to);
    buffer.commit(samples);
    return samples.length;
  } finally {
    buffer.close();
  }
}

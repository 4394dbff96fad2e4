/**
 * The demo plant in end-to-end tests: waiting until the agent has stored, and committed, the
 * last value the paused simulator exposed on every counter.
 */
import type { Agent } from '../../agent/runtime/agent.ts';
import type { GroundTruth } from '../../drivers/simulator/index.ts';
import { waitFor } from './peers.ts';

/** Resolves once every machine's parts_total and parts_scrap equal the ground truth's last values and nothing is pending. */
export async function waitForPlantCatchUp(agent: Agent, truth: GroundTruth, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () =>
      Object.values(truth.machines).every((m) => {
        const latest = new Map(agent.buffer.latest(m.machine).map((l) => [l.signal, l.value]));
        return latest.get('parts_total') === m.last.partsTotal && latest.get('parts_scrap') === m.last.partsScrap;
      }) && agent.health().buffer.pending === 0,
    timeoutMs,
    'the agent to catch up with the plant',
  );
}

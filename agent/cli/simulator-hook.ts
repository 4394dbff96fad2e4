/** Wires the demo plant (drivers/simulator) into the agent and the `simulate` verb. */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Plant } from '../plant/index.ts';
import { runSimulator, startPlantSimulator } from '../../drivers/simulator/index.ts';
import type { Companion } from '../runtime/agent.ts';
import type { Logger } from '../runtime/logger.ts';
import { AgentError, isAgentError } from '../errors.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { embeddedNodesetFiles } from '../sea/index.ts';

/** `simulator.enabled: true`: the demo plant starts before the sources that read it. */
export async function startDemoPlant(plant: Plant, log: Logger): Promise<Companion> {
  try {
    return await startPlantSimulator(
      {
        ...plant.simulator,
        pkiDir: join(resolve(plant.dataDir), 'simulator-pki'),
        nodesetFiles: embeddedNodesetFiles(join(resolve(plant.dataDir), '.native')),
      },
      log.child({ component: 'simulator' }),
    );
  } catch (err) {
    if (isAgentError(err)) throw err;
    throw new AgentError('SFA_ERR_SIMULATOR_START', `demo plant did not start: ${(err as Error).message}`, { cause: err });
  }
}

export async function runSimulatorCommand(
  opts: { opcuaPort: number; mqttPort: number; seed: number; speed: number },
  log: Logger,
): Promise<number> {
  try {
    // beside the simulator's default PKI folder: a nodeset is data, so a noexec /tmp is fine
    await runSimulator({ ...opts, nodesetFiles: embeddedNodesetFiles(join(tmpdir(), 'shopfloor-agent-sim')) }, log);
    return EXIT_CODES.OK;
  } catch (err) {
    log.fatal({ err }, `demo plant failed: ${(err as Error).message}`);
    return EXIT_CODES.RUNTIME;
  }
}

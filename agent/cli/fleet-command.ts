/**
 * `shopfloor-agent fleet [-c FILE]` (DESIGN.md §6): the central aggregator. Exit 2 for a bad
 * config (every problem named by its path), 1 when it cannot start, 0 after SIGINT/SIGTERM.
 */
import { Command, Option } from 'commander';
import { formatProblems } from '../../config/index.ts';
import { loadFleetConfigFile } from '../../config/fleet-schema.ts';
import { isAgentError } from '../errors.ts';
import { createLogger } from '../runtime/logger.ts';
import type { CommandFactory } from './cli-context.ts';
import { EXIT_CODES } from './exit-codes.ts';

function defaultFleetConfigPath(): string {
  return process.env.SHOPFLOOR_FLEET_CONFIG ?? './fleet.yaml';
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export const fleetCommand: CommandFactory = (ctx) =>
  new Command('fleet')
    .description('run the fleet aggregator: stores every agent\'s samples and hourly KPI components exactly once, confirms them, serves fleet KPIs')
    .addOption(new Option('-c, --config <file>', 'fleet config file (default ./fleet.yaml or $SHOPFLOOR_FLEET_CONFIG)'))
    .option('--check', 'validate the config and exit (0 ok, 2 invalid)')
    .action(async (opts: { config?: string; check?: boolean }) => {
      const file = opts.config ?? defaultFleetConfigPath();
      const res = loadFleetConfigFile(file);
      if (!res.ok) {
        ctx.io.err(formatProblems(res.problems, file));
        ctx.setExit(EXIT_CODES.USAGE);
        return;
      }
      for (const w of res.warnings) ctx.io.err(`${file}: warning: ${w}`);
      const config = res.config;
      if (opts.check) {
        ctx.io.out(`${file}: ok — fleet ${config.fleet.id}, broker ${config.broker.url}, store ${config.database.url !== undefined ? 'PostgreSQL' : 'SQLite'}`);
        return;
      }
      const log = createLogger(config.fleet.logLevel, { name: 'shopfloor-fleet' });
      const { Fleet } = await import('../fleet/index.ts');
      const fleet = new Fleet(config, log);
      try {
        await fleet.start();
      } catch (err) {
        log.fatal({ err, code: isAgentError(err) ? err.code : undefined }, (err as Error).message);
        await fleet.stop().catch(() => undefined);
        log.flush();
        ctx.setExit(isAgentError(err) && (err.code.startsWith('SFA_ERR_CONFIG') || err.code === 'SFA_ERR_HTTP_TOKEN_REQUIRED') ? EXIT_CODES.USAGE : EXIT_CODES.RUNTIME);
        return;
      }
      const sig = await untilSignal();
      log.info({ signal: sig }, 'stopping');
      await fleet.stop();
      log.flush();
    });

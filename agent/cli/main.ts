/**
 * `shopfloor-agent` (DESIGN.md §6). Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.
 */
// first: SIGHUP/SIGTERM/SIGINT are queued from here on, before any other module loads
import { releaseEarlySignals } from '../runtime/early-signals.ts';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { loadConfigFile, formatProblems } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';
import { collectSecrets, guardStdio, Redactor } from '../runtime/redact.ts';
import { SignalInbox, serveUntilStopped } from '../runtime/lifecycle.ts';
import { ServiceNotifier } from '../runtime/sd-notify.ts';
import { parseDocument } from 'yaml';
import { isAgentError } from '../errors.ts';
import { EXIT_CODES } from './exit-codes.ts';
import type { CliIo, CommandFactory } from './cli-context.ts';
import { browseCommand } from './browse-command.ts';
import { trustCommand } from './trust-command.ts';
import { kpiCommand } from './kpi-command.ts';
import { fleetCommand } from './fleet-command.ts';
import { Plant } from '../plant/index.ts';
import { agentVersion } from '../sea/index.ts';

export { EXIT_CODES };

const EXIT = EXIT_CODES;

const pkg = { version: agentVersion() };

function defaultConfigPath(): string {
  return process.env.SHOPFLOOR_CONFIG ?? './agent.yaml';
}

type Io = CliIo;

/** Verbs that live in their own files (`<verb>-command.ts`). */
const COMMANDS: CommandFactory[] = [browseCommand, trustCommand, kpiCommand, fleetCommand];

/** Load a config or print every problem; undefined means "exit 2". */
function load(file: string, io: Io): Config | undefined {
  const res = loadConfigFile(file);
  if (!res.ok) {
    // an invalid config's secrets are not known from a parsed Config: take them from the raw file
    io.err(rawFileRedactor(file).redact(formatProblems(res.problems, file)));
    return undefined;
  }
  for (const w of res.warnings) io.err(`${file}: warning: ${w}`);
  return res.config;
}

/** The secret values of a config file that did not validate (every secret field, every URL password). */
function rawFileRedactor(file: string): Redactor {
  try {
    return new Redactor(collectSecrets(parseDocument(readFileSync(file, 'utf8')).toJS({ maxAliasCount: 100 }), process.env));
  } catch {
    return new Redactor();
  }
}

async function runAgent(file: string, config: Config, log: Logger, redactor: Redactor): Promise<number> {
  // signals from now on go to the lifecycle (those queued while loading come first)
  const inbox = new SignalInbox();
  const notifier = new ServiceNotifier(log.child({ component: 'systemd' }));
  // loaded on demand: node-opcua alone takes a second to import, which `check` and `--help` need
  // not pay; the demo plant (an OPC UA server and a broker) only when it is enabled
  const { Agent } = await import('../runtime/agent.ts');
  const agent = new Agent(config, log, { startSimulator: async (c, l) => (await import('./simulator-hook.ts')).startDemoPlant(c, l), version: pkg.version });
  // the last net: a component's bug restarts the component; one nobody can place ends the process (agent/runtime/supervisor.ts)
  agent.supervisor.installProcessHandlers(() => process.exit(EXIT.RUNTIME));
  try {
    await agent.start();
  } catch (err) {
    log.fatal({ err, code: isAgentError(err) ? err.code : undefined }, (err as Error).message);
    await agent.stop().catch(() => undefined);
    inbox.close();
    return isAgentError(err) && (err.code.startsWith('SFA_ERR_CONFIG') || err.code === 'SFA_ERR_HTTP_TOKEN_REQUIRED') ? EXIT.USAGE : EXIT.RUNTIME;
  }
  await notifier.ready(`running: ${config.sources.length} sources`);
  notifier.startWatchdog({ loopLagSeconds: () => agent.eventLoop.maxLagSeconds('watchdog'), commitsHealthy: (ms) => agent.commitsHealthy(ms) });
  return serveUntilStopped(agent, inbox, {
    log,
    notifier,
    readConfig: () => {
      const res = loadConfigFile(file);
      return res.ok ? { ok: true, config: res.config } : { ok: false, error: rawFileRedactor(file).redact(formatProblems(res.problems, file)) };
    },
    onConfig: (next) => redactor.add(collectSecrets(next)),
  });
}

export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) }): Promise<number> {
  let code: number = EXIT.OK;
  const program = new Command()
    .name('shopfloor-agent')
    .description('Edge agent: machine data over OPC UA, MQTT and Modbus TCP → durable SQLite buffer → KPIs, dashboard and upstream')
    .version(pkg.version, '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .showHelpAfterError('(run shopfloor-agent --help for usage)')
    // only `run` serves signals; every other verb gets Node's defaults back (Ctrl-C ends a query)
    .hook('preAction', (_program, action) => {
      if (action.name() !== 'run') releaseEarlySignals();
    });

  const configOption = (): Option => new Option('-c, --config <file>', 'config file (default ./agent.yaml or $SHOPFLOOR_CONFIG)');

  program
    .command('run')
    .description('run the agent')
    .addOption(configOption())
    .action(async (opts: { config?: string }) => {
      const file = opts.config ?? defaultConfigPath();
      const config = load(file, io);
      if (!config) {
        code = EXIT.USAGE;
        return;
      }
      const redactor = new Redactor(collectSecrets(config));
      // the log redacts its own lines; libraries' console output and Node's own reports go here
      const unguard = guardStdio(redactor);
      const log = createLogger(config.agent.logLevel, { redactor });
      code = await runAgent(file, config, log, redactor);
      log.flush();
      unguard();
    });

  program
    .command('check')
    .description('validate a config file; every problem names its path; exit 0 ok, 2 invalid')
    .addOption(configOption())
    .action((opts: { config?: string }) => {
      const file = opts.config ?? defaultConfigPath();
      const config = load(file, io);
      if (!config) {
        code = EXIT.USAGE;
        return;
      }
      const tags = new Plant(config).mappingCount();
      io.out(`${file}: ok — site ${config.site.id}, agent ${config.agent.id}, ${config.sources.length} sources, ${tags} tags/topics, ${config.machines.length} machines`);
    });

  program
    .command('simulate')
    .description('run the demo plant on its own (OPC UA server and embedded MQTT broker)')
    .option('--opcua-port <n>', 'OPC UA port', (v) => parsePort(v, '--opcua-port'), 48401)
    .option('--mqtt-port <n>', 'MQTT port', (v) => parsePort(v, '--mqtt-port'), 18831)
    .option('--seed <n>', 'random seed', (v) => parseIntArg(v, '--seed'), 42)
    .option('--speed <x>', 'simulated seconds per real second', (v) => parseNumberArg(v, '--speed'), 1)
    .action(async (opts: { opcuaPort: number; mqttPort: number; seed: number; speed: number }) => {
      const log = createLogger('info');
      const { runSimulatorCommand } = await import('./simulator-hook.ts');
      code = await runSimulatorCommand(opts, log);
      log.flush();
    });

  const ctx = {
    io,
    setExit: (c: number) => {
      code = c;
    },
  };
  for (const make of COMMANDS) program.addCommand(make(ctx).copyInheritedSettings(program));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    io.err(`shopfloor-agent: ${(err as Error).message}`);
    return EXIT.RUNTIME;
  }
  return code;
}

function parseIntArg(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
  return n;
}
function parsePort(v: string, name: string): number {
  const n = parseIntArg(v, name);
  if (n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be 0–65535, got "${v}"`);
  return n;
}
function parseNumberArg(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
  return n;
}

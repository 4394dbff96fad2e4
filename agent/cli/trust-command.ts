/**
 * `shopfloor-agent trust list|accept <thumbprint>|reject <thumbprint>` (DESIGN.md §6): the OPC UA
 * server certificates the agent trusts, in agent.dataDir/pki (or --pki DIR). A server whose
 * certificate is not trusted yet is listed as "rejected" once the agent has tried to connect;
 * the agent's log names the exact `trust accept` command. A running agent picks the change up
 * at its next connection attempt.
 */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { formatProblems, loadConfigFile } from '../../config/index.ts';
import { isAgentError } from '../errors.ts';
import type { CliContext, CommandFactory } from './cli-context.ts';
import { EXIT_CODES } from './exit-codes.ts';

interface PkiOptions {
  config?: string;
  pki?: string;
}

function pkiDirOf(opts: PkiOptions, ctx: CliContext): string | undefined {
  if (opts.pki) return resolve(opts.pki);
  const file = opts.config ?? process.env.SHOPFLOOR_CONFIG ?? './agent.yaml';
  const res = loadConfigFile(file);
  if (!res.ok) {
    ctx.io.err(formatProblems(res.problems, file));
    ctx.io.err('trust: pass -c FILE (the agent config) or --pki DIR (agent.dataDir/pki)');
    return undefined;
  }
  return resolve(join(res.config.agent.dataDir, 'pki'));
}

function withPkiOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-c, --config <file>', 'the agent config; its PKI is agent.dataDir/pki (default ./agent.yaml or $SHOPFLOOR_CONFIG)'))
    .addOption(new Option('--pki <dir>', 'the PKI folder itself, instead of -c'));
}

export const trustCommand: CommandFactory = (ctx) => {
  const trust = new Command('trust').description('manage the OPC UA server certificates the agent trusts (agent.dataDir/pki)');

  withPkiOptions(trust.command('list').description('list trusted and rejected (not yet trusted) server certificates'))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: PkiOptions & { format: 'table' | 'json' }) => {
      const dir = pkiDirOf(opts, ctx);
      if (!dir) return ctx.setExit(EXIT_CODES.USAGE);
      const { listCertificates } = await import('../../drivers/opcua/opcua-pki.ts');
      const certs = listCertificates(dir);
      if (opts.format === 'json') {
        ctx.io.out(JSON.stringify(certs.map(({ state, thumbprint, subject, validTo, file }) => ({ state, thumbprint, subject, validTo, file })), null, 2));
        return;
      }
      if (certs.length === 0) {
        ctx.io.out(`no server certificates in ${dir} yet (the agent stores a server's certificate there when it first connects)`);
        return;
      }
      ctx.io.out(`PKI ${dir}`);
      ctx.io.out(['state   ', 'thumbprint'.padEnd(40), 'valid to  ', 'subject'].join('  '));
      for (const c of certs) ctx.io.out([c.state.padEnd(8), c.thumbprint, c.validTo.slice(0, 10), c.subject].join('  '));
      const pending = certs.filter((c) => c.state === 'rejected');
      if (pending.length > 0) ctx.io.out(`\nto trust a rejected server: shopfloor-agent trust accept <thumbprint> --pki ${dir}`);
    });

  for (const [verb, state, what] of [
    ['accept', 'trusted', 'trust the server certificate with this thumbprint'],
    ['reject', 'rejected', 'stop trusting the server certificate with this thumbprint'],
  ] as const) {
    withPkiOptions(trust.command(verb).description(what).argument('<thumbprint>', 'SHA-1 thumbprint as `trust list` and the agent log show it'))
      .action(async (thumbprint: string, opts: PkiOptions) => {
        const dir = pkiDirOf(opts, ctx);
        if (!dir) return ctx.setExit(EXIT_CODES.USAGE);
        const { setTrust } = await import('../../drivers/opcua/opcua-pki.ts');
        try {
          const c = await setTrust(dir, thumbprint, state);
          ctx.io.out(`${state}: ${c.thumbprint}  ${c.subject}`);
        } catch (err) {
          ctx.io.err(`shopfloor-agent trust ${verb}: ${(err as Error).message}${isAgentError(err) ? `\n${err.hint}` : ''}`);
          ctx.setExit(isAgentError(err) && err.code === 'SFA_ERR_OPCUA_TRUST' ? EXIT_CODES.USAGE : EXIT_CODES.RUNTIME);
        }
      });
  }
  return trust;
};

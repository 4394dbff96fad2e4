/**
 * `shopfloor-agent browse <opc.tcp://…> [--depth N] [--security MODE[/POLICY]] [--emit-config]`
 * (DESIGN.md §6): walks the server's Objects folder and prints its variables with nodeId, browse
 * path and data type; `--emit-config` prints a `tags:` block ready to paste under an opcua source.
 * Read-only (Browse, BrowseNext, Read). Server certificates are trusted as for the agent itself:
 * the PKI is agent.dataDir/pki of -c FILE, or --pki DIR.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigFile } from '../../config/index.ts';
import { opcuaSourceSchema, type OpcuaSourceConfig } from '../../config/schema.ts';
import { isAgentError } from '../errors.ts';
import type { CliContext, CommandFactory } from './cli-context.ts';
import { EXIT_CODES } from './exit-codes.ts';

interface BrowseOpts {
  depth: number;
  security: string;
  user?: string;
  password?: string;
  cert?: string;
  key?: string;
  emitConfig?: boolean;
  indent: number;
  max: number;
  format: 'table' | 'json';
  config?: string;
  pki?: string;
  timeout: number;
}

const MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
const POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${v}"`);
    return n;
  };
}

function parseSecurity(v: string): { securityMode: (typeof MODES)[number]; securityPolicy: (typeof POLICIES)[number] } {
  const [mode, policy] = v.split('/');
  const m = MODES.find((x) => x.toLowerCase() === (mode ?? '').toLowerCase());
  const p = policy === undefined ? (m === 'None' ? 'None' : 'Basic256Sha256') : POLICIES.find((x) => x.toLowerCase() === policy.toLowerCase());
  if (!m || !p) throw new InvalidArgumentError(`--security is MODE[/POLICY]: MODE one of ${MODES.join(', ')}; POLICY one of ${POLICIES.join(', ')}; got "${v}"`);
  return { securityMode: m, securityPolicy: m === 'None' ? 'None' : p };
}

function pkiDirOf(opts: BrowseOpts): string {
  if (opts.pki) return resolve(opts.pki);
  const file = opts.config ?? process.env.SHOPFLOOR_CONFIG ?? './agent.yaml';
  if (opts.config || existsSync(file)) {
    const res = loadConfigFile(file);
    if (res.ok) return resolve(join(res.config.agent.dataDir, 'pki'));
  }
  return resolve('./data/pki');
}

async function browse(endpoint: string, opts: BrowseOpts, ctx: CliContext): Promise<void> {
  const sec = parseSecurity(opts.security);
  const auth: OpcuaSourceConfig['auth'] =
    opts.cert && opts.key
      ? { type: 'certificate', cert: opts.cert, key: opts.key }
      : opts.user
        ? { type: 'username', username: opts.user, password: opts.password ?? process.env.OPCUA_PASSWORD ?? '' }
        : { type: 'anonymous' };
  const parsed = opcuaSourceSchema.safeParse({ id: 'browse', type: 'opcua', endpoint, ...sec, auth, tags: [{ nodeId: 'i=85', machine: 'm', signal: 'x' }] });
  if (!parsed.success) {
    ctx.io.err(`shopfloor-agent browse: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    ctx.setExit(EXIT_CODES.USAGE);
    return;
  }
  const cfg = parsed.data;
  const pkiDir = pkiDirOf(opts);
  const [{ openCertificateManager }, { createClient, userIdentity, classifyFailure }, { browseVariables, emitTagsBlock }] = await Promise.all([
    import('../../drivers/opcua/opcua-pki.ts'),
    import('../../drivers/opcua/opcua-connection.ts'),
    import('../../drivers/opcua/opcua-browse.ts'),
  ]);
  const cm = await openCertificateManager(pkiDir, false);
  const client = createClient(cfg, { applicationName: 'shopfloor-agent browse', certificateManager: cm, sessionTimeoutMs: 60_000, requestTimeoutMs: opts.timeout });
  try {
    let vars;
    try {
      await client.connect(cfg.endpoint);
      const session = await client.createSession(userIdentity(cfg.auth));
      try {
        vars = await browseVariables(session, { depth: opts.depth, maxVariables: opts.max });
      } finally {
        await session.close().catch(() => undefined);
      }
    } catch (err) {
      const e = await classifyFailure(err, cfg, cm, pkiDir);
      ctx.io.err(`shopfloor-agent browse: ${e.message}\n${isAgentError(e) ? e.hint : ''}`);
      ctx.setExit(EXIT_CODES.RUNTIME);
      return;
    }
    if (opts.emitConfig) {
      ctx.io.out(emitTagsBlock(vars, cfg.endpoint, opts.indent).text);
    } else if (opts.format === 'json') {
      ctx.io.out(JSON.stringify(vars.map((v) => ({ nodeId: v.nodeId, path: v.path.join('/'), dataType: v.dataType, valueRank: v.valueRank, supported: v.supported })), null, 2));
    } else {
      const w = Math.max(6, ...vars.map((v) => v.nodeId.length));
      const p = Math.max(4, ...vars.map((v) => v.path.join('/').length));
      ctx.io.out(`${'nodeId'.padEnd(w)}  ${'path'.padEnd(p)}  dataType`);
      for (const v of vars) ctx.io.out(`${v.nodeId.padEnd(w)}  ${v.path.join('/').padEnd(p)}  ${v.dataType}${v.valueRank >= 0 ? '[]' : ''}`);
      ctx.io.err(`${vars.length} variables (depth ${opts.depth}); --emit-config prints a tags: block`);
    }
  } finally {
    await client.disconnect().catch(() => undefined);
    await cm.dispose().catch(() => undefined);
  }
}

export const browseCommand: CommandFactory = (ctx) =>
  new Command('browse')
    .description('walk an OPC UA server: variables with nodeId, browse path and data type; --emit-config prints a tags: block')
    .argument('<endpoint>', 'opc.tcp://host:port[/path]')
    .addOption(new Option('--depth <n>', 'levels below the Objects folder').argParser(positiveInt('--depth')).default(6))
    .addOption(new Option('--security <mode[/policy]>', `None | Sign | SignAndEncrypt [/ ${POLICIES.slice(1).join(' | ')}]`).default('None'))
    .addOption(new Option('--user <name>', 'username auth (password from --password or $OPCUA_PASSWORD)'))
    .addOption(new Option('--password <password>', 'password for --user (prefer $OPCUA_PASSWORD)'))
    .addOption(new Option('--cert <file>', 'X.509 user certificate (PEM), with --key'))
    .addOption(new Option('--key <file>', 'private key of --cert (PEM)'))
    .addOption(new Option('--emit-config', 'print a tags: block ready to paste under an opcua source'))
    .addOption(new Option('--indent <n>', 'spaces before tags: in --emit-config output').argParser(positiveInt('--indent')).default(4))
    .addOption(new Option('--max <n>', 'stop after this many variables').argParser(positiveInt('--max')).default(10_000))
    .addOption(new Option('--format <format>', 'listing format').choices(['table', 'json']).default('table'))
    .addOption(new Option('-c, --config <file>', 'agent config: its PKI (agent.dataDir/pki) holds the trusted servers'))
    .addOption(new Option('--pki <dir>', 'the PKI folder, instead of -c (default ./data/pki)'))
    .addOption(new Option('--timeout <ms>', 'per request').argParser(positiveInt('--timeout')).default(15_000))
    .action(async (endpoint: string, opts: BrowseOpts) => {
      await browse(endpoint, opts, ctx);
    });

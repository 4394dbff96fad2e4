/** pino: JSON lines to stdout; human-readable when stdout is a terminal. */
import { pino, type Logger } from 'pino';
import { prettyStream } from '../sea/index.ts';

export type { Logger };

export function createLogger(level: string, opts: { pretty?: boolean; name?: string } = {}): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  const prettyOptions = { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' };
  // the single executable has no node_modules for the transport's worker: a bundled stream instead
  const inProcess = pretty ? prettyStream(prettyOptions) : undefined;
  return pino({
    level,
    name: opts.name ?? 'shopfloor-agent',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty && !inProcess ? { transport: { target: 'pino-pretty', options: prettyOptions } } : {}),
  }, inProcess);
}

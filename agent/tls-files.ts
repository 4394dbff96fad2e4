/** The PEM files a client's config names (`ca`, `cert`, `key`), read when it connects, and the credentials they belong to. */
import { readFileSync } from 'node:fs';
import { AgentError, type ErrorCode } from './errors.ts';

export interface TlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** What a client of a broker (the upstream forwarder, either fleet transport) signs in with. */
export interface BrokerCredentials {
  username: string | undefined;
  password: string | undefined;
  /** PEM file paths */
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  rejectUnauthorized: boolean;
}

/** No user, no client certificate, the server's certificate checked: the defaults. */
export const NO_CREDENTIALS: BrokerCredentials = {
  username: undefined,
  password: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  rejectUnauthorized: true,
};

/** Their contents; a file that cannot be read is an AgentError with `code` naming the setting (`{what}.ca`) and the path. */
export function readTlsFiles(files: TlsFiles, code: ErrorCode, what: string): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = files[k];
    if (!file) continue;
    try {
      out[k] = readFileSync(file);
    } catch (e) {
      throw new AgentError(code, `cannot read ${what}.${k} "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }
  return out;
}

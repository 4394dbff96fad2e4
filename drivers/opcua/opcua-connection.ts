/**
 * Opening an OPC UA client and session with the configured security, shared by the driver and
 * `shopfloor-agent browse`; and turning node-opcua's failures into catalogue errors that say
 * what to do.
 */
import { readFileSync } from 'node:fs';
import {
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  UserTokenType,
  type UserIdentityInfo,
} from 'node-opcua-client';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { AgentError } from '../../agent/errors.ts';
import type { OpcuaSourceConfig } from './opcua-schema.ts';
import { thumbprintOf, trustCommand } from './opcua-pki.ts';

export type OpcuaSecurity = Pick<OpcuaSourceConfig, 'endpoint' | 'securityMode' | 'securityPolicy' | 'auth'>;

export interface OpcuaClientOptions {
  applicationName: string;
  certificateManager: OPCUACertificateManager;
  sessionTimeoutMs: number;
  /** node-opcua's own request timeout; our supervisor has its own, longer one */
  requestTimeoutMs: number;
}

/**
 * One connection attempt per client: with maxRetry 0 node-opcua neither retries nor reconnects
 * (its delays are then unused); the driver's supervisor reconnects with its own backoff and a
 * fresh client.
 */
const ONE_ATTEMPT = { maxRetry: 0, initialDelay: 100, maxDelay: 200 } as const;

export function createClient(sec: OpcuaSecurity, opts: OpcuaClientOptions): OPCUAClient {
  return OPCUAClient.create({
    applicationName: opts.applicationName,
    clientCertificateManager: opts.certificateManager,
    endpointMustExist: false,
    securityMode: MessageSecurityMode[sec.securityMode],
    securityPolicy: SecurityPolicy[sec.securityPolicy],
    requestedSessionTimeout: opts.sessionTimeoutMs,
    defaultTransactionTimeout: opts.requestTimeoutMs,
    connectionStrategy: ONE_ATTEMPT,
    keepSessionAlive: false,
    // the driver closes (or later re-activates and closes) its sessions itself
    keepPendingSessionsOnDisconnect: true,
  });
}

export function userIdentity(auth: OpcuaSourceConfig['auth']): UserIdentityInfo {
  switch (auth.type) {
    case 'anonymous':
      return { type: UserTokenType.Anonymous };
    case 'username':
      return { type: UserTokenType.UserName, userName: auth.username, password: auth.password };
    case 'certificate': {
      let certPem: string;
      let keyPem: string;
      try {
        certPem = readFileSync(auth.cert, 'utf8');
        keyPem = readFileSync(auth.key, 'utf8');
      } catch (err) {
        throw new AgentError('SFA_ERR_OPCUA_USER_CERT', `cannot read the user certificate ${auth.cert} or key ${auth.key}: ${(err as Error).message}`, { cause: err });
      }
      const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(certPem);
      if (!m?.[1] || !/-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/.test(keyPem)) {
        throw new AgentError('SFA_ERR_OPCUA_USER_CERT', `${auth.cert} must hold a PEM certificate and ${auth.key} a PEM private key`);
      }
      return { type: UserTokenType.Certificate, certificateData: Buffer.from(m[1].replace(/\s+/g, ''), 'base64'), privateKey: keyPem };
    }
  }
}

/** The server's certificate as the endpoint list shows it (GetEndpoints needs no security). */
export async function serverCertificateThumbprint(sec: OpcuaSecurity, cm: OPCUACertificateManager): Promise<string | undefined> {
  const client = OPCUAClient.create({ clientCertificateManager: cm, endpointMustExist: false, connectionStrategy: ONE_ATTEMPT });
  try {
    await client.connect(sec.endpoint);
    const endpoints = await client.getEndpoints();
    const match = endpoints.find((e) => e.securityPolicyUri === SecurityPolicy[sec.securityPolicy] && e.securityMode === MessageSecurityMode[sec.securityMode]);
    const cert = (match ?? endpoints.find((e) => e.serverCertificate && e.serverCertificate.length > 0))?.serverCertificate;
    return cert && cert.length > 0 ? thumbprintOf(firstCertificate(cert)) : undefined;
  } catch {
    return undefined;
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/** A chain is several DER certificates back to back; the first is the server's own. */
function firstCertificate(der: Buffer): Buffer {
  if (der.length < 4 || der[0] !== 0x30 || der[1] !== 0x82) return der;
  const len = ((der[2] ?? 0) << 8) + (der[3] ?? 0) + 4;
  return der.subarray(0, Math.min(len, der.length));
}

export async function endpointList(sec: OpcuaSecurity, cm: OPCUACertificateManager): Promise<string> {
  const client = OPCUAClient.create({ clientCertificateManager: cm, endpointMustExist: false, connectionStrategy: ONE_ATTEMPT });
  try {
    await client.connect(sec.endpoint);
    const eps = await client.getEndpoints();
    const offered = [...new Set(eps.map((e) => `${MessageSecurityMode[e.securityMode]}/${(e.securityPolicyUri ?? '').split('#')[1] ?? 'None'}`))];
    return offered.join(', ');
  } catch {
    return 'unknown (GetEndpoints failed)';
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/**
 * A failure to connect or open a session, as a catalogue error. Normal-life failures (server
 * down, network) stay SFA_ERR_SOURCE_CONNECT; configuration and trust problems get their own code.
 */
export async function classifyFailure(err: unknown, sec: OpcuaSecurity, cm: OPCUACertificateManager, pkiDir: string): Promise<AgentError> {
  if (err instanceof AgentError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/BadCertificateUntrusted|BadCertificateChainIncomplete|BadSecurityChecksFailed.*server cert/i.test(msg) && /server Certificate/i.test(msg)) {
    const thumbprint = await serverCertificateThumbprint(sec, cm);
    const cmd = thumbprint ? trustCommand(thumbprint, pkiDir) : `shopfloor-agent trust list --pki ${pkiDir}`;
    return new AgentError(
      'SFA_ERR_OPCUA_CERT_UNTRUSTED',
      `the certificate of OPC UA server ${sec.endpoint} (thumbprint ${thumbprint ?? 'unknown'}) is not trusted; if that is the machine's certificate, run: ${cmd}`,
      { cause: err },
    );
  }
  if (/BadUserAccessDenied|BadIdentityTokenInvalid|BadIdentityTokenRejected|BadUserSignatureInvalid/.test(msg)) {
    const who = sec.auth.type === 'username' ? `user "${sec.auth.username}"` : sec.auth.type === 'certificate' ? `user certificate ${sec.auth.cert}` : 'anonymous access';
    return new AgentError('SFA_ERR_OPCUA_AUTH', `OPC UA server ${sec.endpoint} refused ${who} (${statusName(msg)}): check auth in the source config`, { cause: err });
  }
  if (/BadSecurityPolicyRejected|BadSecurityModeRejected|cannot find endpoint|Cannot find an Endpoint|endpoint.*not found/i.test(msg)) {
    return new AgentError(
      'SFA_ERR_OPCUA_SECURITY',
      `OPC UA server ${sec.endpoint} offers no endpoint ${sec.securityMode}/${sec.securityPolicy}; it offers: ${await endpointList(sec, cm)}`,
      { cause: err },
    );
  }
  if (/BadCertificate|BadSecurityChecksFailed/.test(msg)) {
    let own = '';
    try {
      const ownPem = readFileSync(`${pkiDir}/own/certs/client_certificate.pem`, 'utf8');
      const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(ownPem);
      if (m?.[1]) own = ` (thumbprint ${thumbprintOf(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'))})`;
    } catch {
      // no own certificate yet
    }
    return new AgentError('SFA_ERR_OPCUA_CLIENT_REJECTED', `OPC UA server ${sec.endpoint} rejected the agent's certificate${own}: ${msg}`, { cause: err });
  }
  return new AgentError('SFA_ERR_SOURCE_CONNECT', `cannot reach OPC UA server ${sec.endpoint}: ${msg}`, { cause: err });
}

function statusName(msg: string): string {
  return /Bad[A-Za-z]+/.exec(msg)?.[0] ?? msg;
}

/**
 * The agent's OPC UA PKI (agent.dataDir/pki, node-opcua's layout): own/ (the agent's application
 * certificate, created on first start), trusted/certs (server certificates the agent trusts),
 * rejected/ (server certificates seen but not trusted, waiting for `trust accept`).
 * Thumbprints are the SHA-1 of the DER certificate in hex, as OPC UA tools show them.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
// a static import: the agent bundle turns a dynamic import of this CommonJS package into its default export only
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { AgentError } from '../../agent/errors.ts';

export type CertificateState = 'trusted' | 'rejected';

export interface PkiCertificate {
  state: CertificateState;
  thumbprint: string;
  subject: string;
  validTo: string;
  file: string;
  der: Buffer;
}

export function thumbprintOf(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex');
}

/** "AB:CD:…", "abcd…" or "ABCD …" → "abcd…" */
export function normaliseThumbprint(s: string): string {
  return s.replace(/[\s:]/g, '').toLowerCase();
}

/** The exact command that trusts a server certificate (in the error the driver logs). */
export function trustCommand(thumbprint: string, pkiDir: string): string {
  return `shopfloor-agent trust accept ${thumbprint} --pki ${pkiDir}`;
}

function derOf(file: string): Buffer | undefined {
  const raw = readFileSync(file);
  const text = raw.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
    return m?.[1] ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : undefined;
  }
  return raw;
}

function readFolder(dir: string, state: CertificateState): PkiCertificate[] {
  if (!existsSync(dir)) return [];
  const out: PkiCertificate[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    if (!/\.(pem|der|crt|cer)$/i.test(name) || !statSync(file).isFile()) continue;
    try {
      const der = derOf(file);
      if (!der) continue;
      const x = new X509Certificate(der);
      out.push({ state, thumbprint: thumbprintOf(der), subject: x.subject.replace(/\n/g, ', '), validTo: new Date(x.validTo).toISOString(), file, der });
    } catch {
      // not a certificate (a stray file): ignored, as node-opcua does
    }
  }
  return out;
}

/** Server certificates known to the PKI, trusted first. */
export function listCertificates(pkiDir: string): PkiCertificate[] {
  const trusted = readFolder(join(pkiDir, 'trusted', 'certs'), 'trusted');
  const trustedSet = new Set(trusted.map((c) => c.thumbprint));
  const rejected = readFolder(join(pkiDir, 'rejected'), 'rejected').filter((c) => !trustedSet.has(c.thumbprint));
  return [...trusted, ...rejected];
}

export function findCertificate(pkiDir: string, thumbprint: string): PkiCertificate {
  const want = normaliseThumbprint(thumbprint);
  const found = listCertificates(pkiDir).find((c) => c.thumbprint === want);
  if (!found) throw new AgentError('SFA_ERR_OPCUA_TRUST', `no certificate with thumbprint ${want} in ${pkiDir}`);
  return found;
}

/** The certificate manager of the agent's PKI (the folder and the agent's own key are created on first use). */
export async function openCertificateManager(pkiDir: string, autoAccept: boolean): Promise<OPCUACertificateManager> {
  // the agent's private key lives here: its user only
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const cm = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: autoAccept, name: 'shopfloor-agent' });
  await cm.initialize();
  return cm;
}

export async function setTrust(pkiDir: string, thumbprint: string, state: CertificateState): Promise<PkiCertificate> {
  const cert = findCertificate(pkiDir, thumbprint);
  const cm = await openCertificateManager(pkiDir, false);
  try {
    if (state === 'trusted') await cm.trustCertificate(cert.der);
    else await cm.rejectCertificate(cert.der);
  } finally {
    await cm.dispose();
  }
  return { ...cert, state };
}

/** The agent's version: package.json of the checkout, or the copy embedded in the single executable. */
import { readFileSync } from 'node:fs';
import { SEA_ASSETS, seaText } from './sea-assets.ts';

export function agentVersion(): string {
  // two levels below the repository, like agent/cli/ and dist/agent/, so the path holds in both
  const text = seaText(SEA_ASSETS.packageJson) ?? readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

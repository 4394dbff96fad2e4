#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx's loader (no build step for
// `npm start`; the single binary is bundled with esbuild instead).
import { register } from 'tsx/esm/api';

// node-opcua writes warnings to stdout, which is the agent's JSON log stream; it only
// warns about the RSA PKCS#1 v1.5 policies that the agent does not offer. Errors still show.
process.env.NODEOPCUA_LOG_LEVEL ??= '3';
register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));

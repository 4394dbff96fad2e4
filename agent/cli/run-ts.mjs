#!/usr/bin/env node
// Runs a TypeScript script of the repository (npm scripts: schema, bench).
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

// node-opcua's warnings about RSA PKCS#1 v1.5 policies the agent does not offer stay quiet
process.env.NODEOPCUA_LOG_LEVEL ??= '3';
register();
const [script, ...rest] = process.argv.slice(2);
if (!script) {
  console.error('usage: run-ts.mjs <script.ts> [args]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...rest];
await import(pathToFileURL(resolve(script)).href);

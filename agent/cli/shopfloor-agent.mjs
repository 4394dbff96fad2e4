#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx's loader (no build step for
// `npm start`; the single binary is bundled with esbuild instead).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));

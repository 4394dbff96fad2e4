/**
 * Entry point of the single executable (agent/cli/build-binary.ts bundles it to CommonJS, the
 * only module format a Node 20 SEA main script can be). The same CLI as the npm bin
 * (agent/cli/shopfloor-agent.mjs), every verb included, with no special case per verb: what
 * differs is where files come from (agent/sea/) and the V8 settings, applied first.
 */
import './sea-prelude.ts';
import { main } from '../cli/main.ts';

// as in the npm bin: node-opcua's console warnings stay off the JSON log stream on stdout
process.env.NODEOPCUA_LOG_LEVEL ??= '3';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`shopfloor-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

/**
 * Writes config/schema.json from the zod schema, so editors can validate and complete
 * agent.yaml files (`# yaml-language-server: $schema=./schema.json`). Run by `npm run schema`;
 * config/generate-schema.test.ts fails when the committed file is stale.
 *
 * The JSON Schema describes the *input* (what a person writes): keys with defaults are
 * optional and sizes like "2GiB" are allowed. Checks that compare parts of the config
 * (duplicate ids, unknown machines, captures, http.token) and `${ENV_VAR}` substitution
 * exist only in the loader. Draft-07 because it is the draft editors support best.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.ts';
import { fleetSchemaJsonPath, renderFleetSchemaJson } from './generate-fleet-schema.ts';

export const schemaJsonPath = fileURLToPath(new URL('./schema.json', import.meta.url));

export function renderSchemaJson(): string {
  const { $schema, ...body } = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7' });
  const schema = {
    $schema,
    $id: 'urn:shopfloor-agent:config',
    title: 'shopfloor-agent configuration',
    description:
      'Config of the shopfloor-agent edge agent (DESIGN.md §6). Generated from config/schema.ts by `npm run schema`: do not edit. ' +
      'String values may contain ${ENV_VAR} or ${ENV_VAR:-default}, substituted when the agent loads the file. See config/example.yaml.',
    ...body,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(schemaJsonPath, renderSchemaJson());
  console.log(`wrote ${schemaJsonPath}`);
  writeFileSync(fleetSchemaJsonPath, renderFleetSchemaJson());
  console.log(`wrote ${fleetSchemaJsonPath}`);
}

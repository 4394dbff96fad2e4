/**
 * config/fleet-schema.json from the fleet's zod schema (config/fleet-schema.ts), like
 * config/schema.json for the agent: written by `npm run schema`, checked fresh by a test.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { fleetConfigSchema } from './fleet-schema.ts';

export const fleetSchemaJsonPath = fileURLToPath(new URL('./fleet-schema.json', import.meta.url));

export function renderFleetSchemaJson(): string {
  const { $schema, ...body } = z.toJSONSchema(fleetConfigSchema, { io: 'input', target: 'draft-7' });
  const schema = {
    $schema,
    $id: 'urn:shopfloor-agent:fleet-config',
    title: 'shopfloor-agent fleet configuration',
    description:
      'Config of `shopfloor-agent fleet` (DESIGN.md §6 "Fleet"). Generated from config/fleet-schema.ts by `npm run schema`: do not edit. ' +
      'String values may contain ${ENV_VAR} or ${ENV_VAR:-default}, substituted when the fleet loads the file. See config/fleet-example.yaml.',
    ...body,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

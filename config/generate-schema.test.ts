import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderSchemaJson, schemaJsonPath } from './generate-schema.ts';

const here = (file: string): string => new URL(file, import.meta.url).pathname;

describe('config/schema.json', () => {
  it('is not stale', () => {
    const committed = readFileSync(schemaJsonPath, 'utf8');
    if (committed !== renderSchemaJson()) {
      expect.fail('config/schema.json is stale: run `npm run schema` and commit the result');
    }
  });

  it('is deterministic', () => {
    expect(renderSchemaJson()).toBe(renderSchemaJson());
    expect(renderSchemaJson().endsWith('}\n')).toBe(true);
  });

  it('config/example.yaml uses every key of the schema', () => {
    const schema = JSON.parse(renderSchemaJson()) as JsonSchema;
    // the keys as written (the loaded config also holds defaults); substitution changes no key
    const data = parseYaml(readFileSync(here('./example.yaml'), 'utf8')) as unknown;
    const all = new Set<string>();
    const used = new Set<string>();
    schemaKeys(schema, '', all);
    usedKeys(schema, data, '', used);
    expect([...all].filter((k) => !used.has(k))).toEqual([]);
  });
});

// --- every key of the schema, from its JSON Schema -------------------------------------

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

function schemaKeys(s: JsonSchema, prefix: string, out: Set<string>): void {
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.add(path);
    schemaKeys(sub, path, out);
  }
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) schemaKeys(alt, prefix, out);
  if (s.items && !Array.isArray(s.items)) schemaKeys(s.items, `${prefix}[]`, out);
  if (typeof s.additionalProperties === 'object') schemaKeys(s.additionalProperties, `${prefix}.*`, out);
}

function usedKeys(s: JsonSchema, data: unknown, prefix: string, out: Set<string>): void {
  if (data === null || typeof data !== 'object') return;
  if (Array.isArray(data)) {
    if (s.items && !Array.isArray(s.items)) for (const d of data) usedKeys(s.items, d, `${prefix}[]`, out);
  } else {
    for (const [k, v] of Object.entries(data)) {
      const sub = s.properties?.[k];
      const path = prefix ? `${prefix}.${k}` : k;
      if (sub) {
        out.add(path);
        usedKeys(sub, v, path, out);
      } else if (typeof s.additionalProperties === 'object') {
        usedKeys(s.additionalProperties, v, `${prefix}.*`, out);
      }
    }
  }
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) usedKeys(alt, data, prefix, out);
}

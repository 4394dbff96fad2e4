/**
 * One descriptor per driver (listed in drivers/registry.ts): its config schema, how to create
 * a driver for a source, and which series the source produces with what settings. Nothing
 * outside drivers/ switches on a source type; it asks the registry.
 */
import type { z } from 'zod';
import type { Driver } from './driver.ts';
import type { SeriesMapping } from './series-mapping.ts';

/** What the agent hands a driver at creation (never the whole config). */
export interface DriverCreateContext {
  agentId: string;
  /** the agent's data folder (the OPC UA PKI lives under it) */
  dataDir: string;
}

export interface DriverDescriptor<S extends { id: string; type: string } = { id: string; type: string }> {
  readonly type: S['type'];
  readonly schema: z.ZodType<S>;
  /** loads the driver's code on demand: a plant without OPC UA does not pay for node-opcua */
  create(source: S, ctx: DriverCreateContext): Promise<Driver>;
  /** every tag, topic field, register or rule of the source, in config order */
  mappings(source: S): SeriesMapping[];
}

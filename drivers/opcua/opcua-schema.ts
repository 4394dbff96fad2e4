/** The config schema of an `opcua` source (DESIGN.md §6), owned by this driver. */
import { z } from 'zod';
import { id, mappingFields, sourceInputFields } from '../mapping-schema.ts';

/** OPC UA DataChangeFilter deadband: absolute (in the node's unit) or percent of its EURange. */
export const opcuaDeadbandSchema = z.strictObject({
  type: z.enum(['absolute', 'percent']),
  value: z.number().nonnegative(),
});

export const opcuaTagSchema = z.strictObject({
  nodeId: z
    .string()
    .min(1)
    .regex(/^(ns=\d+;)?(i=\d+|s=.+|g=[0-9a-fA-F-]{36}|b=.+)$|^nsu=.+;(i|s|g|b)=.+$/, 'an OPC UA NodeId like "ns=2;s=Printer1.Energy" or "ns=3;i=1001"'),
  ...mappingFields,
  samplingIntervalMs: z.number().int().nonnegative().optional(),
  /** values the server keeps between publishes (1 = the latest only); default: the source's */
  queueSize: z.number().int().min(1).max(10_000).optional(),
  /** when the queue is full, drop the oldest value (true) or the newest (false); default: the source's */
  discardOldest: z.boolean().optional(),
  /** report a change only beyond this deadband (numeric nodes); default: the source's (none) */
  deadband: opcuaDeadbandSchema.optional(),
});

export const opcuaSourceSchema = z.strictObject({
  id,
  type: z.literal('opcua'),
  ...sourceInputFields,
  endpoint: z.string().regex(/^opc\.tcp:\/\/[^\s/:]+(:\d+)?(\/.*)?$/, 'an endpoint like opc.tcp://10.0.0.5:4840'),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
  securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None'),
  auth: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('anonymous') }),
      z.strictObject({ type: z.literal('username'), username: z.string().min(1), password: z.string() }),
      z.strictObject({ type: z.literal('certificate'), cert: z.string().min(1), key: z.string().min(1) }),
    ])
    .default({ type: 'anonymous' }),
  /** trust any server certificate without asking (logged as a warning at every connect); keep it off */
  autoAcceptUnknownCertificates: z.boolean().default(false),
  samplingIntervalMs: z.number().int().nonnegative().default(1000),
  queueSize: z.number().int().min(1).max(10_000).default(10),
  discardOldest: z.boolean().default(true),
  deadband: opcuaDeadbandSchema.optional(),
  /** tags per subscription; more tags make more subscriptions */
  maxItemsPerSubscription: z.number().int().min(1).max(100_000).default(10_000),
  /** monitored items per CreateMonitoredItems call (many PLC servers refuse more than 1000) */
  maxItemsPerCall: z.number().int().min(1).max(1000).default(1000),
  /** notifications per Publish response (0: as many as the server sends); small responses keep the agent's memory flat */
  maxNotificationsPerPublish: z.number().int().min(0).max(100_000).default(1000),
  /** a subscription reports at least this often (data or keep-alive); silence past twice this rebuilds it */
  keepAliveMs: z.number().int().min(100).max(600_000).default(10_000),
  /** connect, open a session and subscribe within this time, or try again */
  connectTimeoutMs: z.number().int().min(1000).default(15_000),
  /** the session the server keeps while the agent is unreachable */
  sessionTimeoutMs: z.number().int().min(1000).default(60_000),
  /** capped exponential backoff between connection attempts */
  reconnect: z
    .strictObject({ minMs: z.number().int().min(10).default(1000), maxMs: z.number().int().min(10).default(30_000) })
    .default({ minMs: 1000, maxMs: 30_000 }),
  tags: z.array(opcuaTagSchema).min(1),
});

export type OpcuaSourceConfig = z.output<typeof opcuaSourceSchema>;
export type OpcuaTagConfig = z.output<typeof opcuaTagSchema>;
export type OpcuaDeadband = z.output<typeof opcuaDeadbandSchema>;

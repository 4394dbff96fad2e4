/** The config schema of a `modbus` source (DESIGN.md §6), owned by this driver. */
import { z } from 'zod';
import { id, mappingFields, port, sourceInputFields } from '../mapping-schema.ts';

export const modbusRegisterSchema = z
  .strictObject({
    ...mappingFields,
    table: z.enum(['holding', 'input', 'coil', 'discrete']).default('holding'),
    /** 0-based protocol address (register 40001 is holding address 0) */
    address: z.number().int().min(0).max(65535),
    /** default uint16 for registers, bool for coils and discrete inputs */
    type: z.enum(['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'bool']).optional(),
    /** multi-register values: "big" = high word first (Modicon), "little" = low word first */
    wordOrder: z.enum(['big', 'little']).default('big'),
    /** bytes inside each register: "big" as Modbus specifies, "little" for swapped-byte devices */
    byteOrder: z.enum(['big', 'little']).default('big'),
    /** added after scale: value = raw × scale + offset */
    offset: z.number().finite().optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.table === 'coil' || r.table === 'discrete') && r.type !== undefined && r.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `a ${r.table} is one bit: use type bool (or leave type out)` });
    }
  });

/** Registers polled together at their own interval (fast power readings, slow energy counters). */
export const modbusGroupSchema = z.strictObject({
  name: z.string().min(1).optional(),
  intervalMs: z.number().int().min(10),
  registers: z.array(modbusRegisterSchema).min(1),
});

/** One Modbus TCP device (or one unit id behind a gateway): its own connection and timers. */
const modbusDeviceFields = {
  port: port.default(502),
  unitId: z.number().int().min(0).max(255).default(1),
  /** interval of `registers` (groups have their own) */
  intervalMs: z.number().int().min(10).default(1000),
  /** a request unanswered this long counts as a failure; the device is reconnected with backoff */
  timeoutMs: z.number().int().positive().default(1000),
  registers: z.array(modbusRegisterSchema).default([]),
  groups: z.array(modbusGroupSchema).default([]),
};

export const modbusDeviceSchema = z.strictObject({ id, host: z.string().min(1), ...modbusDeviceFields });

export const modbusSourceSchema = z
  .strictObject({
    id,
    type: z.literal('modbus'),
    ...sourceInputFields,
    /** the single-device form; several devices go under `devices` */
    host: z.string().min(1).optional(),
    ...modbusDeviceFields,
    devices: z.array(modbusDeviceSchema).default([]),
    /** reconnect backoff after a failure: doubles from min to max */
    reconnect: z
      .strictObject({ minMs: z.number().int().positive().default(1000), maxMs: z.number().int().positive().default(30_000) })
      .default({ minMs: 1000, maxMs: 30_000 }),
  })
  .superRefine((s, ctx) => {
    const own = s.registers.length + s.groups.length;
    if (s.host === undefined && own > 0) ctx.addIssue({ code: 'custom', path: ['host'], message: 'registers need a "host" (or move them under devices[])' });
    if (s.host !== undefined && own === 0) ctx.addIssue({ code: 'custom', path: ['registers'], message: `device ${s.host} has no registers or groups` });
    if (s.host === undefined && s.devices.length === 0) ctx.addIssue({ code: 'custom', path: ['host'], message: 'a modbus source needs "host" and "registers", or "devices"' });
    s.devices.forEach((d, i) => {
      if (d.registers.length + d.groups.length === 0) ctx.addIssue({ code: 'custom', path: ['devices', i, 'registers'], message: `device "${d.id}" has no registers or groups` });
    });
  });



export type ModbusSourceConfig = z.output<typeof modbusSourceSchema>;
export type ModbusRegisterConfig = z.output<typeof modbusRegisterSchema>;
export type ModbusDeviceConfig = z.output<typeof modbusDeviceSchema>;

/**
 * Walks an OPC UA server's Objects folder (Browse, BrowseNext and Read only) and lists its
 * variables with nodeId, browse path and data type; and turns that list into a `tags:` block
 * for the config (`shopfloor-agent browse --emit-config`).
 */
import {
  AttributeIds,
  BrowseDirection,
  DataType,
  NodeClassMask,
  ReferenceTypeIds,
  type BrowseDescriptionOptions,
  type BrowseResult,
  type ClientSession,
  type DataValue,
  type ReferenceDescription,
} from 'node-opcua-client';

export interface BrowsedVariable {
  nodeId: string;
  /** browse names from Objects down, e.g. ["TestPlant", "Press1", "Tag0"] */
  path: string[];
  dataType: string;
  /** -1 scalar, ≥ 0 arrays */
  valueRank: number;
  /** what the driver can store: a scalar number, boolean or text */
  supported: boolean;
}

export interface BrowseOptions {
  /** levels below Objects (1 = its children) */
  depth: number;
  /** stop after this many variables */
  maxVariables: number;
}

const OBJECTS_FOLDER = 'i=85';
const SERVER_OBJECT = 'ns=0;i=2253';
const SUPPORTED = new Set<number>([
  DataType.Boolean, DataType.SByte, DataType.Byte, DataType.Int16, DataType.UInt16, DataType.Int32, DataType.UInt32,
  DataType.Int64, DataType.UInt64, DataType.Float, DataType.Double, DataType.String, DataType.DateTime, DataType.LocalizedText,
]);

async function browseAll(session: ClientSession, nodes: BrowseDescriptionOptions[]): Promise<ReferenceDescription[][]> {
  const out: ReferenceDescription[][] = [];
  for (let i = 0; i < nodes.length; i += 500) {
    const results = (await session.browse(nodes.slice(i, i + 500))) as BrowseResult[];
    for (const r of results) {
      const refs = [...(r.references ?? [])];
      let cp: Buffer | null = r.continuationPoint;
      while (cp && cp.length > 0) {
        const next = (await session.browseNext([cp], false)) as BrowseResult[];
        const n = next[0];
        refs.push(...(n?.references ?? []));
        cp = n?.continuationPoint ?? null;
      }
      out.push(refs);
    }
  }
  return out;
}

export async function browseVariables(session: ClientSession, opts: BrowseOptions): Promise<BrowsedVariable[]> {
  const found: { nodeId: string; path: string[] }[] = [];
  let level: { nodeId: string; path: string[] }[] = [{ nodeId: OBJECTS_FOLDER, path: [] }];
  const seen = new Set<string>([OBJECTS_FOLDER]);
  for (let depth = 1; depth <= opts.depth && level.length > 0 && found.length < opts.maxVariables; depth++) {
    const refs = await browseAll(
      session,
      level.map((n) => ({
        nodeId: n.nodeId,
        browseDirection: BrowseDirection.Forward,
        referenceTypeId: 'HierarchicalReferences',
        includeSubtypes: true,
        nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
        resultMask: 0x3f,
      })),
    );
    const next: typeof level = [];
    refs.forEach((list, i) => {
      const parent = level[i];
      if (!parent) return;
      for (const r of list) {
        const id = r.nodeId.toString();
        if (seen.has(id) || id === SERVER_OBJECT || r.referenceTypeId.value === ReferenceTypeIds.HasProperty) continue;
        seen.add(id);
        const path = [...parent.path, r.browseName.name ?? id];
        if (r.nodeClass === 2 /* Variable */) found.push({ nodeId: id, path });
        else next.push({ nodeId: id, path });
      }
    });
    level = next;
  }
  const vars = found.slice(0, opts.maxVariables);
  const attrs = vars.flatMap((v) => [
    { nodeId: v.nodeId, attributeId: AttributeIds.DataType },
    { nodeId: v.nodeId, attributeId: AttributeIds.ValueRank },
  ]);
  const values: DataValue[] = [];
  for (let i = 0; i < attrs.length; i += 1000) values.push(...(await session.read(attrs.slice(i, i + 1000))));
  const typeIds = new Map<string, string>();
  const out: BrowsedVariable[] = vars.map((v, i) => {
    const dt: unknown = values[2 * i]?.value.value;
    const rank = Number(values[2 * i + 1]?.value.value ?? -1);
    const dtId = dt && typeof dt === 'object' && 'toString' in dt ? String(dt) : 'i=0';
    const builtin = /^(ns=0;)?i=(\d+)$/.exec(dtId);
    const builtinNo = builtin ? Number(builtin[2]) : undefined;
    const name = builtinNo !== undefined && builtinNo <= 25 ? DataType[builtinNo] : undefined;
    if (!name) typeIds.set(dtId, dtId);
    return {
      nodeId: v.nodeId,
      path: v.path,
      dataType: name ?? dtId,
      valueRank: rank,
      supported: rank === -1 && builtinNo !== undefined && SUPPORTED.has(builtinNo),
    };
  });
  // enumerations and structures: name them by their DataType node's browse name
  const ids = [...typeIds.keys()];
  if (ids.length > 0) {
    const names = await session.read(ids.map((nodeId) => ({ nodeId, attributeId: AttributeIds.BrowseName })));
    const enumIds = new Set<string>();
    const sup = await session.browse(ids.map((nodeId) => ({ nodeId, browseDirection: BrowseDirection.Inverse, referenceTypeId: 'HasSubtype', resultMask: 0x3f })));
    ids.forEach((id, i) => {
      const n = names[i]?.value.value as { name?: string } | undefined;
      typeIds.set(id, n?.name ?? id);
      const parents = (sup[i]?.references ?? []).map((r) => r.nodeId.toString());
      if (parents.includes('ns=0;i=29') || parents.includes('i=29')) enumIds.add(id);
    });
    for (const v of out) {
      const named = typeIds.get(v.dataType);
      if (named) {
        // enumerations arrive as their Int32 value
        if (enumIds.has(v.dataType) && v.valueRank === -1) v.supported = true;
        v.dataType = named;
      }
    }
  }
  return out;
}

/** "ChamberTemp" → "chamber_temp", "Tag 7" → "tag_7"; always a valid signal name. */
export function signalName(browseName: string): string {
  const s = browseName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return /^[a-z]/.test(s) ? s : `v_${s || 'value'}`;
}

/** An object's browse name as a machine id (letters, digits, "_", ".", ":" or "-"). */
export function machineId(browseName: string): string {
  const s = browseName.replace(/[^A-Za-z0-9_.:-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').toLowerCase();
  return s || 'machine';
}

const yamlString = (s: string): string => JSON.stringify(s);

/** The `tags:` block for the config: scalar variables the driver can store, mapped to their parent object. */
export function emitTagsBlock(vars: readonly BrowsedVariable[], endpoint: string, indent = 4): { text: string; machines: string[] } {
  const pad = ' '.repeat(indent);
  const used = new Set<string>();
  const machines: string[] = [];
  const lines: string[] = [];
  const skipped = vars.filter((v) => !v.supported);
  for (const v of vars.filter((x) => x.supported)) {
    const machine = machineId(v.path.at(-2) ?? 'machine');
    if (!machines.includes(machine)) machines.push(machine);
    let signal = signalName(v.path.at(-1) ?? 'value');
    for (let n = 2; used.has(`${machine}/${signal}`); n++) signal = `${signalName(v.path.at(-1) ?? 'value')}_${n}`;
    used.add(`${machine}/${signal}`);
    lines.push(`${pad}  - { nodeId: ${yamlString(v.nodeId)}, machine: ${machine}, signal: ${signal} }   # ${v.path.join('/')} (${v.dataType})`);
  }
  const head = [
    `${pad}# from shopfloor-agent browse ${endpoint}: ${lines.length} variables`,
    `${pad}# machines referenced (add them under machines[]): ${machines.join(', ') || 'none'}`,
    ...(skipped.length > 0 ? [`${pad}# skipped ${skipped.length} arrays/structures the agent cannot store: ${skipped.slice(0, 5).map((v) => v.nodeId).join(', ')}${skipped.length > 5 ? ' …' : ''}`] : []),
    `${pad}tags:`,
  ];
  return { text: [...head, ...lines].join('\n'), machines };
}

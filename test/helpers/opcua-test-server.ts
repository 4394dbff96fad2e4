/**
 * A node-opcua server for OPC UA driver tests: its own namespace (ns=1) with N Double tags that
 * change on a timer, a few typed nodes, users, every security mode and policy, its own PKI, and a
 * recorder of every service request it receives. Runs in-process, or in a child process (see
 * opcua-server-process.ts) so that a test can kill it outright.
 *
 * Address space: Objects/TestPlant/Press1 … PressK, each with tags Tag<i> (ns=1;s=Tag.<i>),
 * and Objects/TestPlant/Values with typed nodes (ns=1;s=Values.<name>).
 */
import { join } from 'node:path';
import {
  AccessRestrictionsFlag,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  PermissionFlag,
  RegisterServerMethod,
  SecurityPolicy,
  StatusCodes,
  Variant,
  VariantArrayType,
  WellKnownRoles,
  type UAVariable,
} from 'node-opcua';

export interface OpcuaTestServerOptions {
  port: number;
  /** folder for the server's PKI (its certificate is kept across restarts with the same folder) */
  pkiDir: string;
  tags: number;
  /** tags per Press object in the address space */
  tagsPerMachine: number;
  /** every tag changes this often (0: never) */
  changeEveryMs: number;
  users: { username: string; password: string }[];
  allowAnonymous: boolean;
  /** server trusts any client certificate (its own trust is not what these tests are about) */
  securityModes: ('None' | 'Sign' | 'SignAndEncrypt')[];
  /** accept X.509 user certificates */
  acceptUserCertificates: boolean;
}

const TAG_ROLE_PERMISSIONS = [
  { roleId: WellKnownRoles.Anonymous, permissions: PermissionFlag.Browse | PermissionFlag.ReadRolePermissions | PermissionFlag.Read | PermissionFlag.Write },
];

export const OPCUA_TEST_SERVER_DEFAULTS: OpcuaTestServerOptions = {
  port: 0,
  pkiDir: './data/test-opcua-pki',
  tags: 10,
  tagsPerMachine: 50,
  changeEveryMs: 200,
  users: [{ username: 'agent', password: 'secret' }],
  allowAnonymous: true,
  securityModes: ['None', 'Sign', 'SignAndEncrypt'],
  acceptUserCertificates: true,
};

/** The service requests that change a server's state: the agent must never send them. */
export const WRITE_SERVICES = [
  'WriteRequest',
  'CallRequest',
  'AddNodesRequest',
  'DeleteNodesRequest',
  'AddReferencesRequest',
  'DeleteReferencesRequest',
  'HistoryUpdateRequest',
] as const;

export function tagNodeId(i: number): string {
  return `ns=1;s=Tag.${i}`;
}

export class OpcuaTestServer {
  readonly options: OpcuaTestServerOptions;
  /** every service request received, by type name (e.g. "CreateMonitoredItemsRequest") */
  readonly requests = new Map<string, number>();
  private server: OPCUAServer | undefined;
  private vars: UAVariable[] = [];
  private readonly typedVars = new Map<string, { v: UAVariable; dataType: DataType }>();
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private endpointUrl = '';
  private actualPort = 0;
  /** value updates written by the server's change timer */
  changes = 0;

  constructor(options: Partial<OpcuaTestServerOptions> = {}) {
    this.options = { ...OPCUA_TEST_SERVER_DEFAULTS, ...options };
  }

  get endpoint(): string {
    return this.endpointUrl;
  }

  get port(): number {
    return this.actualPort;
  }

  async start(): Promise<string> {
    const o = this.options;
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: join(o.pkiDir, 'server'), automaticallyAcceptUnknownCertificate: true });
    const userCertificateManager = new OPCUACertificateManager({ rootFolder: join(o.pkiDir, 'user'), automaticallyAcceptUnknownCertificate: o.acceptUserCertificates });
    const secure = o.securityModes.filter((m) => m !== 'None');
    const server = new OPCUAServer({
      port: o.port,
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      registerServerMethod: RegisterServerMethod.HIDDEN,
      securityModes: o.securityModes.map((m) => MessageSecurityMode[m]),
      securityPolicies: [
        ...(o.securityModes.includes('None') ? [SecurityPolicy.None] : []),
        ...(secure.length > 0 ? [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss] : []),
      ],
      allowAnonymous: o.allowAnonymous,
      userManager: { isValidUser: (u: string, p: string) => o.users.some((x) => x.username === u && x.password === p) },
      serverCertificateManager,
      userCertificateManager,
      isAuditing: false,
      maxConnectionsPerEndpoint: 100,
      serverCapabilities: { maxSessions: 50, operationLimits: { maxMonitoredItemsPerCall: 1000 } },
      buildInfo: { productName: 'shopfloor-agent OPC UA test server', manufacturerName: 'shopfloor-agent tests', softwareVersion: '1.0' },
    });
    server.on('request', (request: { schema: { name: string } }) => {
      const name = request.schema.name;
      this.requests.set(name, (this.requests.get(name) ?? 0) + 1);
    });
    await server.initialize();
    this.build(server);
    await server.start();
    this.server = server;
    this.actualPort = server.endpoints[0]?.port ?? o.port;
    this.endpointUrl = `opc.tcp://127.0.0.1:${this.actualPort}`;
    if (o.changeEveryMs > 0) {
      this.timer = setInterval(() => this.change(), o.changeEveryMs);
    }
    return this.endpointUrl;
  }

  /** Start, change or stop (0) the value changes. */
  setChangeEvery(ms: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = ms > 0 ? setInterval(() => this.change(), ms) : undefined;
  }

  /** Sessions the server holds now. */
  sessionCount(): number {
    return this.server?.engine.currentSessionCount ?? 0;
  }

  monitoredItemCount(): number {
    let n = 0;
    for (const s of this.server?.engine.getSessions() ?? []) {
      for (const sub of s.publishEngine.subscriptions) n += sub.monitoredItemCount;
    }
    return n;
  }

  /** Delete every subscription on the server while the sessions stay up (a server that "forgets" them). */
  dropSubscriptions(): number {
    let n = 0;
    for (const s of this.server?.engine.getSessions() ?? []) {
      for (const sub of [...s.publishEngine.subscriptions]) {
        s.deleteSubscription(sub.id);
        n++;
      }
    }
    return n;
  }

  writeRequests(): string[] {
    return WRITE_SERVICES.filter((n) => (this.requests.get(n) ?? 0) > 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) {
      await server.shutdown(0);
      server.dispose();
    }
  }

  /** Sets tag `i` as a PLC would, with the time the value was measured (its source timestamp). */
  setTag(i: number, value: number, sourceTimestamp: Date): void {
    const v = this.vars[i];
    if (!v) throw new Error(`no tag ${i}`);
    v.setValueFromSource({ dataType: DataType.Double, value }, StatusCodes.Good, sourceTimestamp);
  }

  /** Sets a scalar node of Objects/TestPlant/Values (`Text`, `Flag` …) with its source timestamp. */
  setValue(name: string, value: unknown, sourceTimestamp: Date): void {
    const t = this.typedVars.get(name);
    if (!t) throw new Error(`no value node ${name}`);
    t.v.setValueFromSource(new Variant({ dataType: t.dataType, value }), StatusCodes.Good, sourceTimestamp);
  }

  private change(): void {
    this.tick++;
    const now = new Date();
    for (const v of this.vars) {
      v.setValueFromSource({ dataType: DataType.Double, value: this.tick }, StatusCodes.Good, now);
    }
    this.changes += this.vars.length;
  }

  private build(server: OPCUAServer): void {
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new Error('no address space');
    const ns = addressSpace.getOwnNamespace();
    const plant = ns.addFolder(addressSpace.rootFolder.objects, { browseName: 'TestPlant', nodeId: 's=TestPlant' });
    const o = this.options;
    let machine = plant;
    for (let i = 0; i < o.tags; i++) {
      if (i % o.tagsPerMachine === 0) {
        const m = i / o.tagsPerMachine + 1;
        machine = ns.addObject({ organizedBy: plant, browseName: `Press${m}`, nodeId: `s=Press${m}` });
      }
      const v = ns.addVariable({
        componentOf: machine,
        browseName: `Tag${i}`,
        nodeId: `s=Tag.${i}`,
        dataType: DataType.Double,
        accessLevel: 'CurrentRead | CurrentWrite',
        minimumSamplingInterval: 0,
      });
      // The node's own role permissions and access restrictions: without them node-opcua looks
      // both up in the namespace's metadata objects on every sample of every monitored item
      // (≈ 55 % of the server's CPU at 50,000 items), where a PLC server reads its own memory.
      // Every session is evaluated with the Anonymous role too, so this grants everyone.
      v.setRolePermissions(TAG_ROLE_PERMISSIONS);
      v.setAccessRestrictions(AccessRestrictionsFlag.None);
      v.setValueFromSource({ dataType: DataType.Double, value: 0 }, StatusCodes.Good, new Date());
      this.vars.push(v);
    }
    const values = ns.addObject({ organizedBy: plant, browseName: 'Values', nodeId: 's=Values' });
    const typed: [string, DataType, unknown, VariantArrayType?][] = [
      ['Int64Small', DataType.Int64, [0, 123456789]],
      ['Int64Negative', DataType.Int64, [0xffffffff, 0xfffffffe]],
      ['UInt64Big', DataType.UInt64, [0x00ffffff, 0xffffffff]],
      ['Flag', DataType.Boolean, true],
      ['Text', DataType.String, 'job-42'],
      ['Mode', DataType.Int32, 2],
      ['Vector', DataType.Double, new Float64Array([1, 2, 3]), VariantArrayType.Array],
      ['Blob', DataType.ByteString, Buffer.from([1, 2, 3])],
    ];
    for (const [name, dataType, value, arrayType] of typed) {
      const v = ns.addVariable({
        componentOf: values,
        browseName: name,
        nodeId: `s=Values.${name}`,
        dataType: name === 'Mode' ? 'MessageSecurityMode' : dataType,
        ...(arrayType === VariantArrayType.Array ? { valueRank: 1, arrayDimensions: [3] } : {}),
        accessLevel: 'CurrentRead',
        minimumSamplingInterval: 0,
      });
      v.setValueFromSource(new Variant({ dataType, value, arrayType: arrayType ?? VariantArrayType.Scalar }), StatusCodes.Good, new Date());
      this.typedVars.set(name, { v, dataType });
    }
  }
}

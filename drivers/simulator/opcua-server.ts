/**
 * The OPC UA side of the demo plant: an in-process node-opcua server exposing the printers and
 * the CNC cell under Objects/Plant/<machine>, in the server's own namespace (ns=1), with string
 * NodeIds `<machine>.<signal>` that config/demo.yaml maps.
 *
 * node-opcua is imported lazily in start(): importing it costs about a second, and an agent
 * that never enables the simulator should not pay that.
 */
import { join } from 'node:path';
import type { OPCUAServer, UAVariable } from 'node-opcua';
import { AgentError } from '../../agent/errors.ts';
import type { EnergyMeter } from './energy-meter.ts';
import type { MachineId, MachineSpec } from './machine-specs.ts';

type NodeOpcua = typeof import('node-opcua');

/** How loud node-opcua's own console output may be. Its level is process-wide (see README). */
export type NodeOpcuaLog = 'errors-only' | 'unchanged';

export interface OpcuaPlantServerOptions {
  port: number;
  /** interface to listen on; also the hostname in the endpoint URL */
  host: string;
  /** the PKI folder of the server certificate (own/, trusted/ …) and of user certificates */
  pkiDir: string;
  machines: readonly MachineSpec[];
  nodeOpcuaLog: NodeOpcuaLog;
  /** NodeSet2 files to load instead of node-opcua's standard nodeset (the single executable's copy) */
  nodesetFiles?: string[] | undefined;
}

/** The five values an OPC UA machine exposes, in the units of its nodes. */
export interface OpcuaMachineValues {
  /** kWh (Double) or Wh (UInt32, wrapped), per the machine's energy meter */
  energy: number;
  partsTotal: number;
  partsScrap: number;
  stateCode: number;
  orderId: string;
}

type ValueKey = keyof OpcuaMachineValues;
const VALUE_KEYS: readonly ValueKey[] = ['energy', 'partsTotal', 'partsScrap', 'stateCode', 'orderId'];

/** The NodeId strings of a machine's variables (exactly what config/demo.yaml maps). */
export function opcuaNodeIds(id: MachineId, meter: EnergyMeter): Record<ValueKey, string> {
  return {
    energy: `ns=1;s=${id}.${meter === 'wh-uint32' ? 'energy_wh' : 'energy_kwh'}`,
    partsTotal: `ns=1;s=${id}.parts_total`,
    partsScrap: `ns=1;s=${id}.parts_scrap`,
    stateCode: `ns=1;s=${id}.state`,
    orderId: `ns=1;s=${id}.order_id`,
  };
}

interface MachineNodes {
  vars: Record<ValueKey, UAVariable>;
  types: Record<ValueKey, number>;
  last: OpcuaMachineValues;
}

export class OpcuaPlantServer {
  private server: OPCUAServer | undefined;
  private opcua: NodeOpcua | undefined;
  private readonly nodes = new Map<MachineId, MachineNodes>();
  private endpoint = '';
  private port = 0;

  constructor(private readonly opts: OpcuaPlantServerOptions) {}

  /** Starts listening with the given initial values; resolves with the actual port (port 0 works). */
  async start(initial: ReadonlyMap<MachineId, OpcuaMachineValues>, ts: Date): Promise<{ port: number; endpoint: string }> {
    const opcua = await import('node-opcua');
    this.opcua = opcua;
    // node-opcua prints warnings straight to the console (e.g. the RSA PKCS#1 notice, harmless
    // with SecurityPolicy None). An explicit NODEOPCUA_LOG_LEVEL always wins.
    if (this.opts.nodeOpcuaLog === 'errors-only' && process.env.NODEOPCUA_LOG_LEVEL === undefined) {
      opcua.setLogLevel(opcua.LogLevel.Error);
    }
    const serverCertificateManager = new opcua.OPCUACertificateManager({
      rootFolder: join(this.opts.pkiDir, 'server'),
      automaticallyAcceptUnknownCertificate: true,
    });
    const userCertificateManager = new opcua.OPCUACertificateManager({
      rootFolder: join(this.opts.pkiDir, 'user'),
      automaticallyAcceptUnknownCertificate: true,
    });
    const listenAll = this.opts.host === '0.0.0.0' || this.opts.host === '::';
    const server = new opcua.OPCUAServer({
      port: this.opts.port,
      ...(listenAll ? {} : { host: this.opts.host, hostname: this.opts.host }),
      registerServerMethod: opcua.RegisterServerMethod.HIDDEN,
      securityModes: [opcua.MessageSecurityMode.None],
      securityPolicies: [opcua.SecurityPolicy.None],
      allowAnonymous: true,
      isAuditing: false,
      ...(this.opts.nodesetFiles ? { nodeset_filename: this.opts.nodesetFiles } : {}),
      serverCertificateManager,
      userCertificateManager,
      buildInfo: { productName: 'shopfloor-agent demo plant', manufacturerName: 'shopfloor-agent', softwareVersion: '0.1.0' },
    });
    this.server = server;
    try {
      await server.initialize();
      this.buildAddressSpace(server, initial, ts);
      await server.start();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw new AgentError('SFA_ERR_SIMULATOR_START', `OPC UA server of the demo plant could not start on ${this.opts.host}:${this.opts.port}: ${(err as Error).message}`, { cause: err });
    }
    const endpoint = server.getEndpointUrl();
    this.port = server.endpoints[0]?.port ?? this.opts.port;
    // The endpoint URL carries the actual port even when port 0 was asked for.
    this.endpoint = endpoint;
    return { port: this.port, endpoint };
  }

  get endpointUrl(): string {
    return this.endpoint;
  }

  /** Sets the values that changed, stamped with `ts` as their source timestamp. */
  update(id: MachineId, values: OpcuaMachineValues, ts: Date): void {
    const n = this.nodes.get(id);
    const opcua = this.opcua;
    if (!n || !opcua) return;
    for (const key of VALUE_KEYS) {
      if (n.last[key] === values[key]) continue;
      n.vars[key].setValueFromSource({ dataType: n.types[key], value: values[key] }, opcua.StatusCodes.Good, ts);
    }
    n.last = { ...values };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.nodes.clear();
    if (!server) return;
    await server.shutdown(0);
    server.dispose();
  }

  private buildAddressSpace(server: OPCUAServer, initial: ReadonlyMap<MachineId, OpcuaMachineValues>, ts: Date): void {
    const opcua = this.opcua;
    const addressSpace = server.engine.addressSpace;
    if (!opcua || !addressSpace) throw new Error('address space not initialised');
    const { DataType, StatusCodes } = opcua;
    const ns = addressSpace.getOwnNamespace(); // index 1, the NodeIds' "ns=1"
    const plant = ns.addFolder(addressSpace.rootFolder.objects, {
      browseName: 'Plant',
      nodeId: 's=Plant',
      description: 'The demo plant of shopfloor-agent (simulated machines)',
    });
    for (const spec of this.opts.machines) {
      const init = initial.get(spec.id);
      if (!init) throw new Error(`no initial values for ${spec.id}`);
      const machine = ns.addObject({
        organizedBy: plant,
        browseName: spec.id,
        displayName: spec.name,
        nodeId: `s=${spec.id}`,
        description: `${spec.name} (${spec.line} line, product ${spec.product}, ideal cycle ${spec.idealCycleTimeS} s)`,
      });
      const kwh = spec.energyMeter === 'kwh-double';
      const defs: Record<ValueKey, { browse: string; display: string; type: number; description: string }> = {
        energy: kwh
          ? { browse: 'energy_kwh', display: 'Energy (kWh)', type: DataType.Double, description: 'active energy meter reading, kWh' }
          : { browse: 'energy_wh', display: 'Energy (Wh)', type: DataType.UInt32, description: 'active energy meter reading, Wh; a UInt32 that wraps at 2^32' },
        partsTotal: { browse: 'parts_total', display: 'Parts total', type: DataType.UInt32, description: 'units produced, good + scrap' },
        partsScrap: { browse: 'parts_scrap', display: 'Parts scrap', type: DataType.UInt32, description: 'units scrapped' },
        stateCode: { browse: 'state', display: 'State', type: DataType.Int32, description: '1 running, 2 idle, 3 down, 4 planned stop' },
        orderId: { browse: 'order_id', display: 'Order', type: DataType.String, description: 'the order the machine is working on' },
      };
      const vars = {} as Record<ValueKey, UAVariable>;
      const types = {} as Record<ValueKey, number>;
      for (const key of VALUE_KEYS) {
        const d = defs[key];
        const v = ns.addVariable({
          componentOf: machine,
          browseName: d.browse,
          displayName: d.display,
          description: d.description,
          nodeId: `s=${spec.id}.${d.browse}`,
          dataType: d.type,
          accessLevel: 'CurrentRead',
          userAccessLevel: 'CurrentRead',
          minimumSamplingInterval: 0,
        });
        v.setValueFromSource({ dataType: d.type, value: init[key] }, StatusCodes.Good, ts);
        vars[key] = v;
        types[key] = d.type;
      }
      this.nodes.set(spec.id, { vars, types, last: { ...init } });
    }
  }
}

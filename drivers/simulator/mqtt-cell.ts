/**
 * The MQTT side of the demo plant: an embedded aedes broker on a plain TCP port, and an
 * in-process publisher (aedes' own publish, no client connection) for the assembly cell's
 * JSON telemetry and the MES order events. Subscribers get QoS 1 when they ask for it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { AgentError } from '../../agent/errors.ts';
import type { MachineState } from './plant-model.ts';

export const ORDERS_TOPIC = 'mes/orders';

export function telemetryTopic(machine: string): string {
  return `plant/${machine}/telemetry`;
}

/** The assembly cell's payload on plant/<machine>/telemetry (config/demo.yaml maps its fields). */
export interface TelemetryPayload {
  /** epoch milliseconds */
  ts: number;
  energy: { kwh: number };
  count: { total: number; scrap: number };
  state: MachineState;
  order: string;
}

/** An order event on mes/orders (DESIGN.md §3). */
export interface OrderEventPayload {
  orderId: string;
  event: 'released' | 'started' | 'completed';
  /** ISO 8601 */
  ts: string;
  product: string;
  quantity: number;
  /** which machine the order is for (extra, informative) */
  machine: string;
}

export interface MqttCellOptions {
  port: number;
  host: string;
  /** called once per failed publish (never thrown: the model keeps running) */
  onPublishError: (err: Error, topic: string) => void;
}

export class MqttCell {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly opts: MqttCellOptions) {}

  async start(): Promise<{ port: number; url: string }> {
    const broker = await Aedes.createBroker({ id: 'shopfloor-demo-plant' });
    const server = createServer(broker.handle);
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.broker = broker;
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.port, this.opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await this.stop();
      throw new AgentError('SFA_ERR_SIMULATOR_START', `MQTT broker of the demo plant could not listen on ${this.opts.host}:${this.opts.port}: ${(err as Error).message}`, { cause: err });
    }
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    return { port: this.port, url: `mqtt://${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.port}` };
  }

  get connectedClients(): number {
    return this.broker?.connectedClients ?? 0;
  }

  /** QoS 1, not retained: a subscriber that joins later sees the next report, as with a real cell. */
  publish(topic: string, payload: TelemetryPayload | OrderEventPayload): void {
    const broker = this.broker;
    if (!broker || broker.closed) return;
    broker.publish(
      { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false },
      (err) => {
        if (err) this.opts.onPublishError(err, topic);
      },
    );
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    const server = this.server;
    this.broker = undefined;
    this.server = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) {
      // aedes closed its clients; anything still half-open is cut so close() can finish
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

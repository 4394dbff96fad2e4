/**
 * A Modbus TCP device for tests (and for trying a config on a laptop): modbus-serial's
 * ServerTCP holding a register map, behind a TCP proxy that records every function code it
 * sees and can be muted (the device stops answering but keeps the connection open, as a
 * hung PLC or a gateway with a dead serial line does).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import modbusSerial from 'modbus-serial';
import type { ServerTCP as ServerTcpType } from 'modbus-serial/ServerTCP.js';

const ServerTCP = (modbusSerial as unknown as { ServerTCP: typeof ServerTcpType }).ServerTCP;

export interface TestDeviceMemory {
  holding: Map<number, number>;
  input: Map<number, number>;
  coil: Map<number, boolean>;
}

/** Splits a value into 16-bit words as the device stores it. */
export function toWords(type: 'float32' | 'float64' | 'uint32' | 'int32' | 'int16' | 'uint16', value: number, wordOrder: 'big' | 'little' = 'big'): number[] {
  const size = type === 'float64' ? 8 : type === 'int16' || type === 'uint16' ? 2 : 4;
  const b = Buffer.alloc(size);
  if (type === 'float32') b.writeFloatBE(value);
  else if (type === 'float64') b.writeDoubleBE(value);
  else if (type === 'uint32') b.writeUInt32BE(value);
  else if (type === 'int32') b.writeInt32BE(value);
  else if (type === 'int16') b.writeInt16BE(value);
  else b.writeUInt16BE(value);
  const words: number[] = [];
  for (let i = 0; i < size; i += 2) words.push(b.readUInt16BE(i));
  return wordOrder === 'little' ? words.reverse() : words;
}

export class ModbusTestDevice {
  readonly memory: TestDeviceMemory = { holding: new Map(), input: new Map(), coil: new Map() };
  /** every function code received, in order */
  readonly functionCodes: number[] = [];
  /** muted: requests are swallowed, nothing is answered */
  muted = false;
  port = 0;
  private server: ServerTcpType | undefined;
  private proxy: Server | undefined;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<number> {
    const backendPort = await freePort();
    const m = this.memory;
    const server = new ServerTCP(
      {
        getHoldingRegister: (addr: number) => m.holding.get(addr) ?? 0,
        getInputRegister: (addr: number) => m.input.get(addr) ?? 0,
        getCoil: (addr: number) => m.coil.get(addr) ?? false,
        getDiscreteInput: (addr: number) => m.coil.get(addr) ?? false,
        setRegister: (addr: number, value: number) => void m.holding.set(addr, value),
        setCoil: (addr: number, value: boolean) => void m.coil.set(addr, value),
      },
      { host: '127.0.0.1', port: backendPort, unitID: 1 },
    );
    await new Promise<void>((resolve, reject) => {
      server.on('initialized', () => resolve());
      server.on('serverError', (e) => reject(e ?? new Error('modbus server error')));
    });
    server.on('socketError', () => undefined);
    server.on('error', () => undefined);
    this.server = server;
    const proxy = createServer((client) => {
      this.sockets.add(client);
      const upstream = connect(backendPort, '127.0.0.1');
      this.sockets.add(upstream);
      let pending = Buffer.alloc(0);
      client.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 8) {
          const len = pending.readUInt16BE(4);
          if (pending.length < 6 + len) break;
          this.functionCodes.push(pending[7] ?? -1);
          const frame = pending.subarray(0, 6 + len);
          pending = pending.subarray(6 + len);
          if (!this.muted) upstream.write(frame);
        }
      });
      upstream.on('data', (chunk) => {
        if (!this.muted) client.write(chunk);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    this.proxy = proxy;
    const addr = proxy.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.proxy) await new Promise<void>((r) => this.proxy?.close(() => r()));
    if (this.server) await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

/** modbus-serial's ServerTCP treats port 0 as "default 502", so ask the OS for a free port first. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

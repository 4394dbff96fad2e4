/**
 * A TCP proxy the test controls. In "black hole" mode every connection stays open but bytes in
 * both directions are silently dropped (a cut fibre behind a switch, a firewall dropping
 * packets): nothing closes, nothing errors, it just goes quiet. restore() passes bytes again
 * (connections opened meanwhile pass too).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class BlackHoleProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private dropping = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      const pipe = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (!this.dropping) to.write(chunk);
        });
      };
      pipe(client, upstream);
      pipe(upstream, client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  blackHole(): void {
    this.dropping = true;
  }

  restore(): void {
    this.dropping = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

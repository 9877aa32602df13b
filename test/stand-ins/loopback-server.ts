import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The lifecycle every stand-in shares: a loopback HTTP server, requests it may leave hanging, a clean stop. */
export abstract class LoopbackServer {
  private server: http.Server | undefined;
  protected readonly hanging = new Set<http.ServerResponse>();

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void>;
}

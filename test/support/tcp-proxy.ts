import net from 'node:net';

export type ProxyMode = 'pass' | 'stall' | 'refuse';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** Caught by stallOn: held until the proxy stops. */
  held: boolean;
}

/**
 * A TCP proxy between the gateway and a server that can misbehave the way a
 * network does:
 * - `stall`: connections stay open and new ones are accepted, but no byte
 *   passes either way (a silent path: no FIN, no reset);
 * - `refuse`: every connection is reset, new ones at once (nothing listening);
 * - `pass`: bytes flow again, held ones included.
 * Besides, `stallOn` holds the one connection that sends a given text (one
 * statement's transaction stuck while the others flow).
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private readonly server = net.createServer((client) => this.connect(client));
  private mode: ProxyMode = 'pass';
  private trap: { marker: Buffer; caught: () => void } | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  set(mode: ProxyMode): void {
    this.mode = mode;
    for (const pair of this.pairs) this.apply(pair);
  }

  /** Resolves when a connection sent `marker`: from then on that connection passes nothing, that message included. */
  stallOn(marker: string): Promise<void> {
    return new Promise((caught) => {
      this.trap = { marker: Buffer.from(marker), caught };
    });
  }

  async stop(): Promise<void> {
    for (const pair of this.pairs) this.destroy(pair);
    await new Promise((resolve) => this.server.close(resolve));
  }

  private connect(client: net.Socket): void {
    const server = net.connect(this.targetPort, this.targetHost);
    const pair = { client, server, held: false };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (this.trap !== undefined && chunk.includes(this.trap.marker)) this.hold(pair);
      if (!pair.held) server.write(chunk);
    });
    server.on('data', (chunk) => client.write(chunk));
    for (const socket of [client, server]) {
      socket.on('error', () => this.destroy(pair));
      socket.on('close', () => this.destroy(pair));
    }
    this.apply(pair);
  }

  private hold(pair: Pair): void {
    const { caught } = this.trap as { caught: () => void };
    this.trap = undefined;
    pair.held = true;
    pair.client.pause();
    pair.server.pause();
    caught();
  }

  private apply(pair: Pair): void {
    if (pair.held) return;
    if (this.mode === 'refuse') {
      pair.client.resetAndDestroy();
      pair.server.destroy();
    } else if (this.mode === 'stall') {
      // Paused sockets stop reading: bytes wait in the kernel, the windows fill, nothing is answered.
      pair.client.pause();
      pair.server.pause();
    } else {
      pair.client.resume();
      pair.server.resume();
    }
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server.destroy();
  }
}

import net from 'node:net';

/**
 * What a Kubernetes Service (kube-proxy) does in front of the gateway's pods,
 * reduced to what a rolling deploy depends on: it balances connections, not
 * requests. A new connection goes to one of the endpoints whose last
 * readiness probe (`GET /public/ready`, every `probeIntervalMs`) passed, and
 * stays with it for its life, keep-alive requests included, whatever happens
 * to the endpoint afterwards; nothing is retried. A connection it cannot place
 * or whose endpoint refuses it is reset, and recorded in `failures`.
 * Sources: kube-proxy redirects traffic to the Service's clusterIP to one of
 * its endpoints, chosen per connection by the node's packet-forwarding rules
 * (kubernetes.io/docs/reference/networking/virtual-ips/, "iptables proxy
 * mode"); a Pod whose readiness probe fails is removed from the Service's
 * EndpointSlices, so new connections stop reaching it while established ones
 * go on (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/, "Container
 * probes", readinessProbe).
 */
export class ServiceProxy {
  readonly failures: string[] = [];
  private readonly endpoints = new Map<number, boolean>();
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => this.place(client));
  private probing: NodeJS.Timeout | undefined;
  private turn = 0;

  constructor(private readonly probeIntervalMs: number) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.probing = setInterval(() => void this.probeAll(), this.probeIntervalMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.probing);
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** An endpoint joins not ready, and receives connections once a probe has passed. */
  add(port: number): void {
    this.endpoints.set(port, false);
  }

  /** The endpoint is removed from the Service (what happens before a pod's preStop runs): no new connection goes to it. */
  remove(port: number): void {
    this.endpoints.delete(port);
  }

  isReady(port: number): boolean {
    return this.endpoints.get(port) === true;
  }

  private async probeAll(): Promise<void> {
    await Promise.all(
      [...this.endpoints.keys()].map(async (port) => {
        const ready = await fetch(`http://127.0.0.1:${port}/public/ready`, { signal: AbortSignal.timeout(this.probeIntervalMs) }).then(
          (res) => res.status === 200,
          () => false,
        );
        if (this.endpoints.has(port)) this.endpoints.set(port, ready);
      }),
    );
  }

  private place(client: net.Socket): void {
    const ready = [...this.endpoints].filter(([, isReady]) => isReady).map(([port]) => port);
    const port = ready[this.turn++ % Math.max(ready.length, 1)];
    this.track(client);
    if (port === undefined) {
      this.failures.push('a connection while no endpoint was ready');
      client.resetAndDestroy();
      return;
    }
    const upstream = this.track(net.connect(port, '127.0.0.1'));
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      this.failures.push(`a connection to :${port}: ${error.code ?? error.message}`);
      client.resetAndDestroy();
    });
    client.once('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

import net from 'node:net';

/**
 * A PostgreSQL server that refuses every login the way a real one does, for the refusals this machine's server
 * (trust authentication, no TLS) cannot give. Wire format: PostgreSQL's documentation, "Frontend/Backend
 * Protocol", sections "Start-up" (under "Message Flow") and "Message Formats" (StartupMessage, SSLRequest, AuthenticationCleartextPassword,
 * PasswordMessage, ErrorResponse).
 *
 * - `password`: asks for a cleartext password, then answers 28P01 "password authentication failed for user …",
 *   as `auth_failed()` in src/backend/libpq/auth.c does for a wrong password.
 * - `hostssl-only`: answers the start-up at once with 28000 "no pg_hba.conf entry for host …, no encryption",
 *   `ClientAuthentication()`'s message when only `hostssl` lines match (PostgreSQL 14 and later; "SSL off" before).
 */
export type Refusal = 'password' | 'hostssl-only';

const SSL_REQUEST_CODE = 80877103;

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function errorResponse(code: string, text: string): Buffer {
  const fields = [['S', 'FATAL'], ['V', 'FATAL'], ['C', code], ['M', text]].map(([k, v]) => `${k}${v}\0`).join('');
  return message('E', Buffer.from(`${fields}\0`, 'utf8'));
}

/** The StartupMessage's parameters (user, database), after its length and protocol version. */
function startupParameters(packet: Buffer): Record<string, string> {
  const parts = packet.subarray(8).toString('utf8').split('\0');
  const parameters: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) parameters[parts[i]!] = parts[i + 1]!;
  return parameters;
}

export class PostgresRefusalStandIn {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly refusal: Refusal) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get hostPort(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let started = false;
    let user = '';
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= (started ? 5 : 4)) {
        const length = started ? pending.readInt32BE(1) + 1 : pending.readInt32BE(0);
        if (pending.length < length) return;
        const packet = pending.subarray(0, length);
        pending = pending.subarray(length);
        if (!started && packet.readInt32BE(4) === SSL_REQUEST_CODE) {
          socket.write('N');
          continue;
        }
        if (!started) {
          started = true;
          const parameters = startupParameters(packet);
          user = parameters.user ?? '';
          this.onStartup(socket, parameters);
        } else if (packet.toString('latin1', 0, 1) === 'p') {
          socket.end(errorResponse('28P01', `password authentication failed for user "${user}"`));
        }
      }
    });
  }

  private onStartup(socket: net.Socket, parameters: Record<string, string>): void {
    if (this.refusal === 'password') {
      const cleartext = Buffer.alloc(4);
      cleartext.writeInt32BE(3);
      socket.write(message('R', cleartext));
      return;
    }
    const host = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    socket.end(errorResponse('28000', `no pg_hba.conf entry for host "${host}", user "${parameters.user}", database "${parameters.database}", no encryption`));
  }
}

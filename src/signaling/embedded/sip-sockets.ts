// The sockets under the embedded SIP stack: UDP sockets and TCP listeners on the configured
// addresses, TCP connections to and from peers (reused per remote address, RFC 3261 §18.2.2 and
// §18.1.1; closed after idle time), framing of the TCP byte stream.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import type { SipTransportName, SourceAddress } from '../signaling-backend.js';
import type { SipLimits } from '../sip-limits.js';
import { SipStreamFramer } from './tcp-framing.js';

export interface ListenerSpec {
  readonly transport: SipTransportName;
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export interface Received extends SourceAddress {
  /** Local port of the listener (UDP) or the connection key (TCP) it arrived on. */
  readonly via: string;
}

interface Connection {
  readonly socket: TcpSocket;
  readonly framer: SipStreamFramer;
  lastActivityMs: number;
  /** When the message now arriving began (or the connection opened), undefined between messages. */
  partialSinceMs: number | undefined;
}

export interface SipSocketsEvents {
  message(text: string, from: Received): void;
  /** Bytes that cannot be SIP (undecodable stream, oversize header). */
  garbage(reason: string, from: Received): void;
}

const CONNECT_TIMEOUT_MS = 5000;
const UDP_RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/** Peers whose last UDP listener is remembered (oldest forgotten first). */
const MAX_HEARD_PEERS = 4096;

export class SipSockets {
  readonly #specs: readonly ListenerSpec[];
  readonly #events: SipSocketsEvents;
  readonly #limits: SipLimits;
  readonly #udp: { socket: UdpSocket; spec: ListenerSpec; port: number }[] = [];
  readonly #tcpServers: { server: Server; spec: ListenerSpec; port: number }[] = [];
  readonly #connections = new Map<string, Connection>();
  /** `host:port` a peer put in its Via sent-by → the connection it came in on (reuse for requests to it). */
  readonly #aliases = new Map<string, string>();
  /** Peer address → local port of the UDP listener it last sent to (our requests to it leave there). */
  readonly #heardOn = new Map<string, number>();
  #sweep: NodeJS.Timeout | undefined;

  constructor(specs: readonly ListenerSpec[], events: SipSocketsEvents, limits: SipLimits) {
    if (specs.length === 0) throw new RangeError('at least one SIP listener is needed');
    this.#specs = specs;
    this.#events = events;
    this.#limits = limits;
  }

  async start(): Promise<void> {
    for (const spec of this.#specs) {
      if (spec.transport === 'udp') {
        const socket = createSocket({ type: spec.address.includes(':') ? 'udp6' : 'udp4' });
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(spec.port, spec.address, () => {
            socket.off('error', reject);
            resolve();
          });
        });
        const port = socket.address().port;
        // A burst (a flood, a trunk's failover) must not overflow the default ~200 KB buffer
        // while the loop is busy; the kernel caps this at net.core.rmem_max.
        trySetRecvBuffer(socket, UDP_RECV_BUFFER_BYTES);
        socket.on('message', (buf, rinfo) => {
          const from: Received = {
            address: rinfo.address,
            port: rinfo.port,
            transport: 'udp',
            via: String(port),
          };
          if (buf.length > this.#limits.maxMessageBytes) {
            this.#events.garbage(`datagram over ${this.#limits.maxMessageBytes} bytes`, from);
            return;
          }
          this.#heard(rinfo.address, port);
          this.#events.message(buf.toString('utf8'), from);
        });
        socket.on('error', () => undefined); // ICMP errors on send are per-datagram; nothing to close
        this.#udp.push({ socket, spec, port });
      } else {
        const server = createServer((socket) => this.#accept(socket));
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(spec.port, spec.address, () => {
            server.off('error', reject);
            resolve();
          });
        });
        const address = server.address();
        this.#tcpServers.push({
          server,
          spec,
          port: typeof address === 'object' && address ? address.port : 0,
        });
      }
    }
    const shortest = Math.min(this.#limits.tcpIdleMs, this.#limits.tcpMessageTimeoutMs);
    const sweepMs = Math.max(250, Math.min(shortest / 4, 30_000));
    this.#sweep = setInterval(() => this.#closeIdle(), sweepMs);
    this.#sweep.unref();
  }

  /** Bound port of the first listener of a transport, or undefined if there is none. */
  port(transport: SipTransportName): number | undefined {
    return transport === 'udp' ? this.#udp[0]?.port : this.#tcpServers[0]?.port;
  }

  has(transport: SipTransportName): boolean {
    return this.port(transport) !== undefined;
  }

  /**
   * The UDP listener a request to `host` (an IP address) leaves from: the one that peer last sent
   * to (so a BYE goes back out where the call came in, and its Via/Contact name that port), else
   * the first of the peer's address family (a udp4 socket cannot reach an IPv6 peer), else the first.
   */
  udpPortFor(host: string): number | undefined {
    const heard = this.#heardOn.get(host);
    if (heard !== undefined && this.#udp.some((u) => u.port === heard)) return heard;
    const v6 = isIPv6(host);
    return (this.#udp.find((u) => u.spec.address.includes(':') === v6) ?? this.#udp[0])?.port;
  }

  /** Address the UDP listener on `localPort` is bound to. */
  udpAddress(localPort: number): string | undefined {
    return this.#udp.find((u) => u.port === localPort)?.spec.address;
  }

  /** Sends from the listener bound to `localPort`, else from the one udpPortFor(host) picks. */
  sendUdp(text: string, host: string, port: number, localPort?: string): void {
    const local = localPort !== undefined ? Number(localPort) : this.udpPortFor(host);
    const entry = this.#udp.find((u) => u.port === local) ?? this.#udp[0];
    if (entry === undefined) throw new Error('no UDP listener to send from');
    entry.socket.send(text, port, host);
  }

  #heard(address: string, localPort: number): void {
    if (this.#heardOn.get(address) === localPort) return;
    this.#heardOn.delete(address);
    this.#heardOn.set(address, localPort);
    if (this.#heardOn.size > MAX_HEARD_PEERS) this.#heardOn.delete(this.#heardOn.keys().next().value!);
  }

  /** Writes on `connectionKey` if it is open, else on a connection to host:port (reused or new). */
  async sendTcp(text: string, host: string, port: number, connectionKey?: string): Promise<void> {
    const key = `${host}:${port}`;
    let conn =
      (connectionKey === undefined ? undefined : this.#connections.get(connectionKey)) ??
      this.#connections.get(key) ??
      this.#connections.get(this.#aliases.get(key) ?? '');
    conn ??= await this.#connect(host, port);
    conn.lastActivityMs = Date.now();
    conn.socket.write(text);
  }

  /** Remember that a peer whose Via says `sentBy` is reachable on this connection (reuse, §18.2.1). */
  alias(sentBy: string, connectionKey: string): void {
    if (this.#connections.has(connectionKey)) this.#aliases.set(sentBy, connectionKey);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    for (const conn of this.#connections.values()) conn.socket.destroy();
    this.#connections.clear();
    this.#aliases.clear();
    this.#heardOn.clear();
    await Promise.all([
      ...this.#udp.map((u) => new Promise<void>((resolve) => u.socket.close(() => resolve()))),
      ...this.#tcpServers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))),
    ]);
    this.#udp.length = 0;
    this.#tcpServers.length = 0;
  }

  #connect(host: string, port: number): Promise<Connection> {
    const localAddress = this.#tcpServers[0]?.spec.address;
    return new Promise((resolve, reject) => {
      const socket = connect({
        host,
        port,
        ...(localAddress !== undefined && !['0.0.0.0', '::'].includes(localAddress) && { localAddress }),
      });
      const timer = setTimeout(
        () => socket.destroy(new Error(`TCP connect to ${host}:${port} timed out`)),
        CONNECT_TIMEOUT_MS,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', reject);
        resolve(this.#adopt(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** An inbound connection: refused past maxTcpConnections, else adopted with a first-message deadline. */
  #accept(socket: TcpSocket): void {
    socket.on('error', () => undefined); // 'close' follows
    if (this.#connections.size >= this.#limits.maxTcpConnections) {
      this.#events.garbage(`over ${this.#limits.maxTcpConnections} TCP connections`, {
        address: socket.remoteAddress ?? '',
        port: socket.remotePort ?? 0,
        transport: 'tcp',
        via: '',
      });
      socket.destroy();
      return;
    }
    this.#adopt(socket).partialSinceMs = Date.now();
  }

  #adopt(socket: TcpSocket): Connection {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    const conn: Connection = {
      socket,
      framer: new SipStreamFramer(this.#limits.maxMessageBytes),
      lastActivityMs: Date.now(),
      partialSinceMs: undefined,
    };
    this.#connections.set(key, conn);
    socket.setNoDelay(true);
    const from: Received = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      transport: 'tcp',
      via: key,
    };
    socket.on('data', (chunk) => {
      conn.lastActivityMs = Date.now();
      const items = conn.framer.push(chunk);
      if (conn.framer.pending) conn.partialSinceMs ??= conn.lastActivityMs;
      else conn.partialSinceMs = undefined;
      for (const item of items) {
        if (item.kind === 'message') this.#events.message(item.text, from);
        else if (item.kind === 'ping')
          socket.write('\r\n'); // RFC 5626 §3.5.1 pong
        else {
          this.#events.garbage(item.reason, from);
          socket.destroy();
        }
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      this.#connections.delete(key);
      for (const [alias, target] of this.#aliases) if (target === key) this.#aliases.delete(alias);
    });
    return conn;
  }

  #closeIdle(): void {
    const now = Date.now();
    for (const [key, conn] of this.#connections) {
      if (conn.lastActivityMs < now - this.#limits.tcpIdleMs) conn.socket.end();
      else if (
        conn.partialSinceMs !== undefined &&
        conn.partialSinceMs < now - this.#limits.tcpMessageTimeoutMs
      ) {
        this.#events.garbage('no whole message within the TCP message timeout', {
          address: conn.socket.remoteAddress ?? '',
          port: conn.socket.remotePort ?? 0,
          transport: 'tcp',
          via: key,
        });
        conn.socket.destroy();
      }
    }
  }
}

function trySetRecvBuffer(socket: UdpSocket, bytes: number): void {
  try {
    socket.setRecvBufferSize(bytes);
  } catch {
    // Not fatal: the system default buffer stays.
  }
}

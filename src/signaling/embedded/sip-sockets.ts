// The sockets under the embedded SIP stack: UDP sockets, TCP and TLS listeners on the configured
// addresses, TCP and TLS connections to and from peers (reused per remote address, RFC 3261
// §18.2.2 and §18.1.1; closed after idle time), framing of the byte stream. TLS is TCP with a
// handshake first (§26.2, tls-listener.ts): the same framing and limits, its own connections,
// reused more strictly (sendStream).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SipTransportName, SourceAddress } from '../signaling-backend.js';
import type { SipLimits } from '../sip-limits.js';
import { SipStreamFramer } from './tcp-framing.js';
import type { CertificateSummary, TlsFiles } from './tls-credentials.js';
import { TlsListener, tlsReason } from './tls-listener.js';
import { listenOn } from './listen-on.js';

export interface ListenerSpec extends Partial<TlsFiles> {
  readonly transport: SipTransportName;
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

/** A byte-stream transport: TCP, or TCP with TLS. */
export type StreamTransport = Exclude<SipTransportName, 'udp'>;

export interface Received extends SourceAddress {
  /** Local port of the listener (UDP) or the connection key (TCP) it arrived on. */
  readonly via: string;
}

interface Connection {
  readonly socket: TcpSocket;
  readonly transport: StreamTransport;
  readonly framer: SipStreamFramer;
  lastActivityMs: number;
  /** When the message now arriving began (or the connection opened), undefined between messages. */
  partialSinceMs: number | undefined;
}

export interface SipSocketsEvents {
  message(text: string, from: Received): void;
  /** Bytes that cannot be SIP (undecodable stream, oversize header). */
  garbage(reason: string, from: Received): void;
  /** A TLS handshake that failed, theirs or ours (plain bytes, an untrusted certificate, a wrong name). */
  tlsFailure(reason: string, from: Received): void;
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
  readonly #tlsServers: TlsListener[] = [];
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
      } else if (spec.transport === 'tcp') {
        const server = createServer((socket) => this.#accept(socket, 'tcp'));
        this.#tcpServers.push({ server, spec, port: await listenOn(server, spec.address, spec.port) });
      } else {
        this.#tlsServers.push(
          await TlsListener.start(spec, this.#limits, {
            inUse: () => this.#connections.size + this.#tlsServers.reduce((n, l) => n + l.handshaking, 0),
            secured: (socket) => this.#accept(socket, 'tls'),
            overLimit: (from) =>
              this.#events.garbage(`over ${this.#limits.maxTcpConnections} TCP connections`, from),
            failed: (reason, from) => this.#events.tlsFailure(reason, from),
          }),
        );
      }
    }
    const shortest = Math.min(this.#limits.tcpIdleMs, this.#limits.tcpMessageTimeoutMs);
    const sweepMs = Math.max(250, Math.min(shortest / 4, 30_000));
    this.#sweep = setInterval(() => this.#closeIdle(), sweepMs);
    this.#sweep.unref();
  }

  /** Bound port of the first listener of a transport, or undefined if there is none. */
  port(transport: SipTransportName): number | undefined {
    if (transport === 'udp') return this.#udp[0]?.port;
    return (transport === 'tcp' ? this.#tcpServers : this.#tlsServers)[0]?.port;
  }

  /**
   * Reads every TLS listener's certificate, key and CA files again: new handshakes get them,
   * connections already up keep the session they have (tls.Server.setSecureContext). A listener
   * whose files fail keeps its old ones; the first error is thrown after all were tried.
   */
  reloadTls(): CertificateSummary[] {
    const summaries: CertificateSummary[] = [];
    let failure: Error | undefined;
    for (const listener of this.#tlsServers) {
      try {
        summaries.push(listener.reload());
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (failure !== undefined) throw failure;
    return summaries;
  }

  /** Certificates the TLS listeners serve now (for the start-up log). */
  tlsCertificates(): CertificateSummary[] {
    return this.#tlsServers.map((s) => s.credentials.summary);
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
  /** More than one UDP listener: which one a call came in on matters (call-listeners.ts). */
  get severalUdpListeners(): boolean {
    return this.#udp.length > 1;
  }

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

  /**
   * Writes on `connectionKey` if it is open and of `transport`, else on a connection to host:port
   * (reused or new). `servername` is the name a TLS server's certificate must carry (the URI's
   * host before DNS; undefined for an IP literal, then the IP is checked).
   *
   * TLS reuses only a connection we opened and verified for that same name or IP, or the one
   * `connectionKey` names (the request's or the call's own, node-transport.ts): never one found
   * by a Via sent-by alias, which any client could claim (RFC 5923 §5 asks for a certificate
   * match first; we do not check clients' names), nor one verified for another name at the
   * same address.
   */
  async sendStream(
    transport: StreamTransport,
    text: string,
    host: string,
    port: number,
    connectionKey?: string,
    servername?: string,
  ): Promise<void> {
    const given = connectionKey === undefined ? undefined : this.#connections.get(connectionKey);
    let conn = given?.transport === transport ? given : undefined;
    if (transport === 'tcp') {
      const key = connectionKeyOf('tcp', host, port);
      conn ??= this.#connections.get(key) ?? this.#connections.get(this.#aliases.get(key) ?? '');
    } else {
      conn ??= this.#connections.get(connectionKeyOf('tls', host, port, servername));
    }
    conn ??= await this.#connect(transport, host, port, servername);
    conn.lastActivityMs = Date.now();
    conn.socket.write(text);
  }

  /** Remember that a TCP peer whose Via says `sentBy` is reachable on this connection (reuse, §18.2.1). */
  alias(sentBy: string, connectionKey: string): void {
    if (this.#connections.get(connectionKey)?.transport === 'tcp') this.#aliases.set(sentBy, connectionKey);
  }

  /** Remote address of an open connection (a call's connection is used only towards that address). */
  remoteAddressOf(connectionKey: string): string | undefined {
    return this.#connections.get(connectionKey)?.socket.remoteAddress;
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
      ...this.#tlsServers.map((l) => l.close()),
    ]);
    this.#udp.length = 0;
    this.#tcpServers.length = 0;
    this.#tlsServers.length = 0;
  }

  #connect(transport: StreamTransport, host: string, port: number, servername?: string): Promise<Connection> {
    const servers = transport === 'tcp' ? this.#tcpServers : this.#tlsServers;
    const localAddress = servers[0]?.spec.address;
    const local =
      localAddress !== undefined && !['0.0.0.0', '::'].includes(localAddress) ? { localAddress } : {};
    const tls = this.#tlsServers[0]?.credentials;
    if (transport === 'tls' && tls === undefined) throw new Error('no TLS listener to connect from');
    return new Promise((resolve, reject) => {
      const socket =
        transport === 'tcp'
          ? connect({ host, port, ...local })
          : tlsConnect({ ...tls!.clientOptions(host, servername), port, ...local });
      const timer = setTimeout(
        () => socket.destroy(new Error(`${transport.toUpperCase()} connect to ${host}:${port} timed out`)),
        CONNECT_TIMEOUT_MS,
      );
      // Until connected: a TLS error here is the handshake or the server's certificate failing.
      const failed = (err: Error): void => {
        clearTimeout(timer);
        if (transport === 'tls')
          this.#events.tlsFailure(`to ${servername ?? host}: ${tlsReason(err)}`, {
            address: host,
            port,
            transport: 'tls',
            via: '',
          });
        reject(err);
      };
      socket.once('error', failed);
      // TLS: usable once the handshake (and the check of the server's certificate) is done.
      socket.once(transport === 'tcp' ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        resolve(this.#adopt(socket, transport, connectionKeyOf(transport, host, port, servername)));
      });
    });
  }

  /** An inbound connection: refused past maxTcpConnections, else adopted with a first-message deadline. */
  #accept(socket: TcpSocket, transport: StreamTransport): void {
    socket.on('error', () => undefined); // 'close' follows
    if (this.#connections.size >= this.#limits.maxTcpConnections) {
      this.#events.garbage(`over ${this.#limits.maxTcpConnections} TCP connections`, {
        address: socket.remoteAddress ?? '',
        port: socket.remotePort ?? 0,
        transport,
        via: '',
      });
      socket.destroy();
      return;
    }
    this.#adopt(socket, transport).partialSinceMs = Date.now();
  }

  /** `key`: where sendStream finds it (default the remote address: an inbound connection). */
  #adopt(socket: TcpSocket, transport: StreamTransport, key?: string): Connection {
    key ??= connectionKeyOf(transport, socket.remoteAddress ?? '', socket.remotePort ?? 0);
    const conn: Connection = {
      socket,
      transport,
      framer: new SipStreamFramer(this.#limits.maxMessageBytes),
      lastActivityMs: Date.now(),
      partialSinceMs: undefined,
    };
    this.#connections.set(key, conn);
    socket.setNoDelay(true);
    const from: Received = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      transport,
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
      if (this.#connections.get(key) === conn) this.#connections.delete(key);
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
          transport: conn.transport,
          via: key,
        });
        conn.socket.destroy();
      }
    }
  }
}

/**
 * TLS connections are keyed apart from TCP ones to the same address (never reused for each
 * other), and an outbound one by the name its server's certificate was checked for too.
 */
function connectionKeyOf(
  transport: StreamTransport,
  host: string,
  port: number,
  servername?: string,
): string {
  if (transport === 'tcp') return `${host}:${port}`;
  return servername === undefined ? `tls:${host}:${port}` : `tls:${servername}@${host}:${port}`;
}

function trySetRecvBuffer(socket: UdpSocket, bytes: number): void {
  try {
    socket.setRecvBufferSize(bytes);
  } catch {
    // Not fatal: the system default buffer stays.
  }
}

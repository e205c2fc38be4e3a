// One SIP-over-TLS listener (RFC 3261 §26.2, port 5061 by convention): the handshake and what
// can go wrong in it, before a connection becomes a SIP byte stream like a TCP one
// (sip-sockets.ts takes it from there). A handshake is bounded in time
// (sip.limits.tcpMessageTimeoutSec) and counts against maxTcpConnections while it runs; a failed
// one is reported with the peer's address; a client certificate, when required, is checked once
// the handshake is over. Certificates are swapped on reload without touching live connections.
import type { Socket as TcpSocket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { SipLimits } from '../sip-limits.js';
import { listenOn } from './listen-on.js';
import type { ListenerSpec, Received } from './sip-sockets.js';
import { TlsCredentials, type CertificateSummary } from './tls-credentials.js';

export interface TlsListenerHooks {
  /** Connections open now (all listeners, TCP and TLS) plus handshakes in progress. */
  inUse(): number;
  /** A connection past its handshake (and client certificate check): SIP from here on. */
  secured(socket: TLSSocket): void;
  /** Refused before the handshake: over maxTcpConnections. */
  overLimit(from: Received): void;
  /** A handshake that failed or timed out, or a client certificate refused. */
  failed(reason: string, from: Received): void;
}

export class TlsListener {
  readonly spec: ListenerSpec;
  readonly port: number;
  readonly credentials: TlsCredentials;
  readonly #server: Server;
  /** Connections in their handshake, by remote `address:port`, with their deadline. */
  readonly #handshaking = new Map<string, NodeJS.Timeout>();

  private constructor(spec: ListenerSpec, port: number, credentials: TlsCredentials, server: Server) {
    this.spec = spec;
    this.port = port;
    this.credentials = credentials;
    this.#server = server;
  }

  /** Reads the certificate files and listens; throws when a file fails or the port is taken. */
  static async start(spec: ListenerSpec, limits: SipLimits, hooks: TlsListenerHooks): Promise<TlsListener> {
    if (spec.cert === undefined || spec.key === undefined)
      throw new RangeError(`TLS listener ${spec.address}:${spec.port} needs cert and key`);
    const credentials = new TlsCredentials({
      cert: spec.cert,
      key: spec.key,
      ca: spec.ca,
      requireClientCert: spec.requireClientCert,
    });
    const server = createServer({
      ...credentials.serverOptions(),
      // Only a backstop: our own deadline (#onConnection) fires first, while the peer's address is known.
      handshakeTimeout: limits.tcpMessageTimeoutMs + 5000,
    });
    const port = await listenOn(server, spec.address, spec.port);
    // Handlers go on before any connection can be accepted (this runs in the listen callback's turn).
    const listener = new TlsListener(spec, port, credentials, server);
    server.on('connection', (raw: TcpSocket) => listener.#onConnection(raw, limits, hooks));
    server.on('secureConnection', (socket) => listener.#onSecure(socket, hooks));
    server.on('tlsClientError', (err, socket) => {
      socket.destroy();
      // The client went away mid-handshake (a port scan's connect-and-reset, a health check):
      // nothing failed on our side, and Node no longer knows its address to report it by.
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') return;
      hooks.failed(tlsReason(err), fromSocket(socket));
    });
    return listener;
  }

  /** Handshakes in progress on this listener. */
  get handshaking(): number {
    return this.#handshaking.size;
  }

  /**
   * Reads the files again; new handshakes get them (tls.Server.setSecureContext), connections
   * already up keep theirs. Throws, keeping the old ones, when a file fails.
   */
  reload(): CertificateSummary {
    const summary = this.credentials.reload();
    this.#server.setSecureContext(this.credentials.serverOptions());
    return summary;
  }

  close(): Promise<void> {
    for (const deadline of this.#handshaking.values()) clearTimeout(deadline);
    this.#handshaking.clear();
    return new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(raw: TcpSocket, limits: SipLimits, hooks: TlsListenerHooks): void {
    const from = fromSocket(raw);
    // Before the handshake: the limit holds for connections that never finish one too.
    if (hooks.inUse() >= limits.maxTcpConnections) {
      hooks.overLimit(from);
      raw.destroy();
      return;
    }
    // A peer that connects and never completes the handshake is cut off like one that never
    // completes a message (sip.limits.tcpMessageTimeoutSec), and reported by its address.
    const key = `${from.address}:${from.port}`;
    const deadline = setTimeout(() => {
      hooks.failed('no TLS handshake within the TCP message timeout', from);
      raw.destroy();
    }, limits.tcpMessageTimeoutMs);
    this.#handshaking.set(key, deadline);
    raw.once('close', () => {
      clearTimeout(deadline);
      if (this.#handshaking.get(key) === deadline) this.#handshaking.delete(key);
    });
  }

  #onSecure(socket: TLSSocket, hooks: TlsListenerHooks): void {
    const key = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    clearTimeout(this.#handshaking.get(key));
    this.#handshaking.delete(key);
    // requireClientCert: checked here, not by OpenSSL in the handshake (rejectUnauthorized), so
    // the refusal has the peer's address and the verification error (under TLS 1.3 the client
    // sends its certificate after the server's Finished; a refused one reads as a hang-up).
    if (this.credentials.requireClientCert && !socket.authorized) {
      const reason = socket.authorizationError;
      hooks.failed(`client certificate refused: ${String(reason ?? 'none sent')}`, fromSocket(socket));
      socket.destroy();
      return;
    }
    hooks.secured(socket);
  }
}

function fromSocket(socket: TcpSocket): Received {
  return { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, transport: 'tls', via: '' };
}

/** OpenSSL's reason without its source location ('wrong version number', 'certificate has expired', …). */
export function tlsReason(err: Error): string {
  const { code, reason } = err as NodeJS.ErrnoException & { reason?: unknown };
  const text = typeof reason === 'string' ? reason : (err.message.split('\n')[0] ?? '');
  return code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
}

// GET /metrics (Prometheus text), /healthz (the process answers), /readyz (the app says it takes
// calls: SIP listening, not draining, registrations up when configured). Bound to http.address
// (loopback by default): these are for the operator's scraper and orchestrator, not the internet.
// The carrier ingresses (Twilio, Vonage webhooks and media stream sockets) plug in here too, as an
// HttpIngress; a reverse proxy exposes only their paths (docs/twilio.md).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { logger as rootLogger, LogOnce, type Logger } from './logger.js';

export interface HealthReport {
  readonly live: boolean;
  readonly ready: boolean;
  /** Merged into the JSON body of /healthz and /readyz (e.g. activeCalls, draining, unregistered). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Paths served by another layer (the carrier stream ingresses); false = not ours, go on. */
export interface HttpIngress {
  handleRequest(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

export interface HttpEndpointsOptions {
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly metrics: MetricsSource;
  readonly health: () => HealthReport;
  /** Defaults to the root logger. */
  readonly log?: Logger;
  /** Asked first for every request and WebSocket upgrade; may be set after the listener starts. */
  readonly ingress?: () => HttpIngress | undefined;
  /** Connection limits; the defaults are HTTP_LIMITS (tests shorten the timeouts). */
  readonly limits?: Partial<HttpLimits>;
}

/**
 * What one client may hold of the listener. Node's own defaults let a request's headers trickle
 * in for 60 s and the whole request for 300 s, checked every 30 s, and take any number of
 * connections: a few thousand slow or idle sockets would then hold the process's descriptors,
 * which calls need for their RTP and realtime sockets. An upgraded WebSocket (a carrier media
 * stream, one per call) counts against maxConnections and is timed by its own protocol after.
 */
export interface HttpLimits {
  /** Request headers complete within this, from the connection or the previous request. */
  readonly headersTimeoutMs: number;
  /** The whole request (headers and body) within this. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at most (WebSocket streams included); more are closed on accept. */
  readonly maxConnections: number;
}

export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4_096,
};

export interface HttpEndpoints {
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  /** http://address:port, IPv6 in brackets. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpEndpoints(options: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const log = options.log ?? rootLogger;
  const once = new LogOnce();
  const fail = (res: http.ServerResponse, key: string, err: unknown): void => {
    if (once.first(key))
      log.error({ err: err instanceof Error ? err.message : String(err) }, `${key} failed`);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error\n');
  };

  const limits: HttpLimits = { ...HTTP_LIMITS, ...options.limits };
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // The timeouts above are enforced on this tick (Node's default: every 30 s).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => {
      try {
        if (options.ingress?.()?.handleRequest(req, res) === true) return;
      } catch (err) {
        fail(res, 'ingress request', err);
        return;
      }
      // HEAD is GET without a body (RFC 9110 §9.3.2); node drops the body itself.
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        let text: Promise<string>;
        try {
          text = options.metrics.metrics();
        } catch (err) {
          fail(res, 'metrics collection', err);
          return;
        }
        text.then(
          (body) => res.writeHead(200, { 'content-type': options.metrics.contentType }).end(body),
          (err: unknown) => fail(res, 'metrics collection', err),
        );
        return;
      }
      if (path === '/healthz' || path === '/readyz') {
        let report: HealthReport;
        try {
          report = options.health();
        } catch (err) {
          fail(res, 'health report', err);
          return;
        }
        const ok = path === '/healthz' ? report.live : report.ready;
        let body: string;
        try {
          body = JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...report.detail });
        } catch (err) {
          // A detail that cannot be serialised (cycle, BigInt) must not hide the status code.
          if (once.first('health detail'))
            log.error({ err: (err as Error).message }, 'health detail not JSON');
          body = JSON.stringify({ status: ok ? 'ok' : 'unavailable' });
        }
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      if (options.ingress?.()?.handleUpgrade(req, socket, head) === true) return;
    } catch (err) {
      if (once.first('ingress upgrade'))
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'ingress upgrade failed');
    }
    if (socket.writable) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  // Malformed HTTP: 400 (a request past the header or request deadline: 408) when the socket
  // still takes it, never throw.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'http endpoints error'));
  const port = (server.address() as AddressInfo).port;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

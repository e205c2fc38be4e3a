// GET /metrics (Prometheus text), /healthz (the process answers), /readyz (SIP is listening and
// not draining; registrations, when configured, are up). Bound to http.address (loopback by
// default): these are for the operator's scraper and orchestrator, not the internet.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

export interface HealthReport {
  readonly live: boolean;
  readonly ready: boolean;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface HttpEndpointsOptions {
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly metrics: { readonly contentType: string; metrics(): Promise<string> };
  readonly health: () => HealthReport;
  readonly log: Logger;
}

export interface HttpEndpoints {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpEndpoints(options: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.contentType }).end(text),
        (err: unknown) => {
          options.log.error({ err: (err as Error).message }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const report = options.health();
      const ok = path === '/healthz' ? report.live : report.ready;
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...report.detail }));
      return;
    }
    res.writeHead(404).end();
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Metrics, health endpoints and call-detail records around a running app: the metrics observe
// every call, the registration states follow the backend, /readyz follows the drain, and the main
// thread reports its health (event-loop lag, media clock, RTP send errors) as thread="main", each
// call thread (media.workers) as thread="call-thread-N". The same listener serves the carrier
// media stream ingresses (config `streams`, stream-calls.ts) once the app is attached.
import type { CallObserver } from '../observability/call-detail-record.js';
import type { GrokSipConfig } from '../config/load-config.js';
import { startHttpEndpoints, type HttpEndpoints, type HttpIngress } from '../observability/http-endpoints.js';
import { RestApi } from './rest-api.js';
import type { StreamIngress } from '../streams/stream-ingress.js';
import { startStreamCalls } from './stream-calls.js';
import type { Logger } from '../observability/logger.js';
import { GrokSipMetrics } from '../observability/metrics.js';
import type { GrokSipApp } from './grok-sip-app.js';
import { mediaClock } from '../media/media-clock.js';
import { EventLoopLagMonitor } from '../observability/event-loop-lag.js';
import { rtpSendErrors } from '../observability/rtp-send-errors.js';

export interface Observability {
  readonly observer: CallObserver;
  readonly metrics: GrokSipMetrics;
  /** Where /metrics, /healthz and /readyz answer. */
  readonly url: string;
  attach(app: GrokSipApp): void;
  close(): Promise<void>;
}

export async function startObservability(
  config: GrokSipConfig,
  log: Logger,
  options: {
    port?: number;
    /** GROK_SIP_API_TOKEN: enables the REST API (rest-api.ts). */
    apiToken?: string;
  } = {},
): Promise<Observability> {
  if (options.apiToken !== undefined && options.apiToken !== '' && options.apiToken.length < 16) {
    throw new RangeError('GROK_SIP_API_TOKEN must be at least 16 characters');
  }
  const metrics = new GrokSipMetrics();
  let app: GrokSipApp | undefined;
  let streams: StreamIngress | undefined;
  let api: RestApi | undefined;
  const endpoints: HttpEndpoints = await startHttpEndpoints({
    address: config.http.address,
    port: options.port ?? config.http.port,
    metrics,
    log,
    ingress: () => (api === undefined ? streams : streams === undefined ? api : firstOf(api, streams)),
    health: () => {
      if (app === undefined) return { live: true, ready: false, detail: { starting: true } };
      const registrations = app.backend.registrations();
      const unregistered = registrations.filter((r) => r.status !== 'registered').map((r) => r.aor);
      return {
        live: true,
        ready: !app.draining && app.backend.connected && unregistered.length === 0,
        detail: {
          activeCalls: app.activeCalls(),
          draining: app.draining,
          backend: app.backend.name,
          signaling: app.backend.connected ? 'connected' : 'disconnected',
          ...(unregistered.length > 0 && { unregistered }),
        },
      };
    },
  });
  // After the endpoints: a port in use must not leave the lag monitor running.
  const lag = new EventLoopLagMonitor();
  metrics.addThread('main', () => ({
    eventLoopLag: lag.sample(),
    mediaClock: mediaClock.stats,
    rtpSendErrors: rtpSendErrors.count,
  }));
  return {
    observer: metrics,
    metrics,
    url: endpoints.url,
    attach(started) {
      app = started;
      streams = startStreamCalls(config, started, log);
      if (options.apiToken !== undefined && options.apiToken !== '') {
        api = new RestApi(started, options.apiToken, log);
        log.info({ url: `${endpoints.url}/v1/calls` }, 'REST API enabled (GROK_SIP_API_TOKEN)');
      }
      for (const thread of started.callThreads()) {
        metrics.addThread(
          thread.name,
          () => started.callThreads().find((t) => t.name === thread.name)?.health,
        );
      }
      const backend = started.backend;
      if (backend.tlsCertificates !== undefined) metrics.setTlsCertificates(() => backend.tlsCertificates!());
      for (const state of started.backend.registrations()) metrics.setRegistration(state);
      started.backend.events.on('registration', (state) => metrics.setRegistration(state));
    },
    close: () => {
      lag.stop();
      streams?.close();
      return endpoints.close();
    },
  };
}

/** The REST API first (its paths are /v1/…), then the carrier streams. */
function firstOf(a: HttpIngress, b: HttpIngress): HttpIngress {
  return {
    handleRequest: (req, res) => a.handleRequest(req, res) || b.handleRequest(req, res),
    handleUpgrade: (req, socket, head) =>
      a.handleUpgrade(req, socket, head) || b.handleUpgrade(req, socket, head),
  };
}

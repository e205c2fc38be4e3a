// Metrics, health endpoints and call-detail records around a running app: the metrics observe
// every call, the registration states follow the backend, /readyz follows the drain.
import type { CallObserver } from '../observability/call-detail-record.js';
import type { GrokSipConfig } from '../config/load-config.js';
import { startHttpEndpoints, type HttpEndpoints } from '../observability/http-endpoints.js';
import type { Logger } from '../observability/logger.js';
import { GrokSipMetrics } from '../observability/metrics.js';
import type { GrokSipApp } from './grok-sip-app.js';
import { Counter } from 'prom-client';
import { mediaClock, type MediaClock } from '../media/media-clock.js';

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
  options: { port?: number } = {},
): Promise<Observability> {
  const metrics = new GrokSipMetrics();
  mediaClockMetrics(metrics, mediaClock);
  let app: GrokSipApp | undefined;
  const endpoints: HttpEndpoints = await startHttpEndpoints({
    address: config.http.address,
    port: options.port ?? config.http.port,
    metrics,
    log,
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
  return {
    observer: metrics,
    metrics,
    url: endpoints.url,
    attach(started) {
      app = started;
      for (const state of started.backend.registrations()) metrics.setRegistration(state);
      started.backend.events.on('registration', (state) => metrics.setRegistration(state));
    },
    close: () => endpoints.close(),
  };
}

/** The media clock's own health, read at scrape time: a skipped tick is 20 ms of audio lost on every call. */
function mediaClockMetrics(metrics: GrokSipMetrics, clock: MediaClock): void {
  const registers = [metrics.registry];
  new Counter({
    name: 'grok_sip_media_clock_skipped_ticks_total',
    help: 'Media clock ticks skipped after an event-loop stall (each is 20 ms of audio on every call)',
    registers,
    collect() {
      this.reset();
      this.inc(clock.stats.skippedTicks);
    },
  });
  new Counter({
    name: 'grok_sip_media_clock_late_ticks_total',
    help: 'Media clock ticks that ran more than half a period late',
    registers,
    collect() {
      this.reset();
      this.inc(clock.stats.lateTicks);
    },
  });
}

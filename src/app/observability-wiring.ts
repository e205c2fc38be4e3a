// Metrics, health endpoints and call-detail records around a running app.
// PROVISIONAL: the metrics/HTTP modules are being written; until then only the CDR log line.
import type { CallObserver } from '../call/call-detail-record.js';
import type { GrokSipConfig } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import type { GrokSipApp } from './grok-sip-app.js';

export interface Observability {
  readonly observer: CallObserver | undefined;
  /** Where /metrics, /healthz and /readyz answer. */
  readonly url: string;
  attach(app: GrokSipApp): void;
  close(): Promise<void>;
}

export async function startObservability(config: GrokSipConfig, _log: Logger): Promise<Observability> {
  return {
    observer: undefined,
    url: `http://${config.http.address}:${config.http.port} (not yet served)`,
    attach() {},
    async close() {},
  };
}

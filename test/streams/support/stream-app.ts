// grok-sip as `grok-sip start` wires it (observability listener + app + stream ingresses), for
// the carrier stream tests, with its CDRs collected; torn down with the test.
import { setTimeout as sleep } from 'node:timers/promises';
import { startObservability } from '../../../src/app/observability-wiring.js';
import { startGrokSip, type GrokSipApp, type GrokSipAppOptions } from '../../../src/app/grok-sip-app.js';
import type { GrokSipConfig } from '../../../src/config/load-config.js';
import type { CallDetailRecord } from '../../../src/observability/call-detail-record.js';
import { logger } from '../../../src/observability/logger.js';

export interface StreamApp {
  readonly app: GrokSipApp;
  readonly records: CallDetailRecord[];
  /** http://127.0.0.1:port */
  readonly url: string;
}

export async function startStreamApp(
  t: { teardown(fn: () => unknown): void },
  config: GrokSipConfig,
  options: GrokSipAppOptions = {},
): Promise<StreamApp> {
  const observability = await startObservability(config, logger);
  const app = await startGrokSip(config, { ...options, observer: observability.observer });
  observability.attach(app);
  t.teardown(async () => {
    await app.stop();
    await observability.close();
  });
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (r) => records.push(r));
  return { app, records, url: observability.url };
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// A profile's call-event webhooks (`webhooks:` in an agent profile): one JSON POST per event
// (call.started, call.answered, call.ended with the CDR, transcript, dtmf) to every target that
// asked for it. Fire and forget: the call never waits for a webhook; a slow or failing target is
// logged once per call and target, never retried, never seen by the caller. Posts of one call to
// one target go out in order (each waits for the previous one or its timeout).
import type { Logger } from '../observability/logger.js';
import type { AgentProfile, WebhookEvent } from './agent-profile.js';
import type { CallEventListener } from './call-services.js';

type Target = NonNullable<AgentProfile['webhooks']>[number];

export class CallEventWebhooks {
  readonly #targets: readonly Target[];
  readonly #callId: string;
  readonly #log: Logger;
  readonly #queues = new Map<Target, Promise<void>>();
  readonly #failed = new Set<Target>();
  readonly #listener: CallEventListener | undefined;

  /** `listener` hears every event in this process (the library's events), whatever the targets. */
  constructor(targets: readonly Target[], callId: string, log: Logger, listener?: CallEventListener) {
    this.#targets = targets;
    this.#callId = callId;
    this.#log = log;
    this.#listener = listener;
  }

  post(event: WebhookEvent, data: Readonly<Record<string, unknown>> = {}): void {
    if (this.#listener !== undefined) {
      try {
        this.#listener(this.#callId, event, data);
      } catch (err) {
        this.#log.error(
          { err: err instanceof Error ? err.message : String(err), event },
          'call event listener threw',
        );
      }
    }
    const body = JSON.stringify({ event, callId: this.#callId, at: new Date().toISOString(), ...data });
    for (const target of this.#targets) {
      if (!target.events.includes(event)) continue;
      const previous = this.#queues.get(target) ?? Promise.resolve();
      this.#queues.set(
        target,
        previous.then(() => this.#send(target, event, body)),
      );
    }
  }

  /** Resolves when every queued post has been answered or timed out (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#queues.values());
  }

  async #send(target: Target, event: WebhookEvent, body: string): Promise<void> {
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      await res.body?.cancel();
      if (res.status >= 300) this.#fail(target, event, `HTTP ${res.status}`);
    } catch (err) {
      this.#fail(
        target,
        event,
        (err as Error).name === 'TimeoutError'
          ? `no answer within ${target.timeoutMs} ms`
          : (err as Error).message,
      );
    }
  }

  #fail(target: Target, event: WebhookEvent, reason: string): void {
    if (this.#failed.has(target)) return;
    this.#failed.add(target);
    // The URL without its query: tokens live there too; header values are never logged.
    const url = target.url.split('?')[0];
    this.#log.warn(
      { url, event, reason },
      'call-event webhook failed (further failures of this call not logged)',
    );
  }
}

// Which function calls of the server reach the call: each call id once (Grok may announce one
// call in response.function_call_arguments.done, response.output_item.done and response.done),
// and at most functionCallBurst at once then functionCallsPerSecond (each may run a webhook;
// socket-limits.ts).
import { performance } from 'node:perf_hooks';
import { functionCallBurst, functionCallsPerSecond } from './socket-limits.js';

const maxRememberedCallIds = 256;

export type FunctionCallVerdict = 'new' | 'duplicate' | 'over-rate';

export class FunctionCallGate {
  readonly #seenCallIds = new Set<string>();
  #tokens = functionCallBurst;
  #tokensAtMs = performance.now();

  admit(callId: string): FunctionCallVerdict {
    if (this.#seenCallIds.has(callId)) return 'duplicate';
    if (this.#seenCallIds.size >= maxRememberedCallIds) this.#seenCallIds.clear();
    this.#seenCallIds.add(callId);
    return this.#takeToken() ? 'new' : 'over-rate';
  }

  /** Token bucket: functionCallBurst at once, then functionCallsPerSecond. */
  #takeToken(): boolean {
    const nowMs = performance.now();
    const refill = ((nowMs - this.#tokensAtMs) * functionCallsPerSecond) / 1000;
    this.#tokens = Math.min(functionCallBurst, this.#tokens + refill);
    this.#tokensAtMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

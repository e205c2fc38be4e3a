// The one admission check of both backends: `sip.maxCalls` calls at once; the next INVITE gets
// 503 with Retry-After (RFC 3261 §21.5.4: the caller, or a trunk's failover, knows when to try
// again). A slot is taken when a call is admitted and given back exactly once when it ends.

export class CallAdmission {
  readonly maxCalls: number;
  readonly retryAfterSec: number;
  #active = 0;

  constructor(maxCalls: number, retryAfterSec: number) {
    if (!Number.isInteger(maxCalls) || maxCalls < 1) {
      throw new RangeError(`maxCalls must be a positive integer, got ${maxCalls}`);
    }
    this.maxCalls = maxCalls;
    this.retryAfterSec = retryAfterSec;
  }

  get active(): number {
    return this.#active;
  }

  get full(): boolean {
    return this.#active >= this.maxCalls;
  }

  /** A slot for one call, or null when full; the returned release is idempotent. */
  admit(): (() => void) | null {
    if (this.full) return null;
    this.#active++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#active--;
    };
  }

  /** The refusal of a call over capacity: 503 and its Retry-After header. */
  get refusal(): { readonly status: 503; readonly reason: string; readonly retryAfter: string } {
    return { status: 503, reason: 'Service Unavailable', retryAfter: String(this.retryAfterSec) };
  }
}

// Per-source rate limit on requests that start something (out-of-dialog: INVITE, REGISTER,
// OPTIONS, …): a token bucket per source address, `sip.limits.requestsPerSec` refilled, up to
// `requestBurst`. A flood from one address gets 503 + Retry-After past the bucket while calls in
// progress (in-dialog requests are never counted) and other sources are untouched. Shared by
// both backends.

export interface RateLimitSettings {
  /** Sustained requests per second per source address; 0 turns the limit off. */
  readonly requestsPerSec: number;
  /** Requests a source may send at once after being quiet. */
  readonly requestBurst: number;
}

/** Sources tracked at once; the least recently seen is forgotten first (a spoofed-source flood cannot grow memory). */
const MAX_SOURCES = 10_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

export class SourceRateLimit {
  readonly #settings: RateLimitSettings;
  readonly #buckets = new Map<string, Bucket>();

  constructor(settings: RateLimitSettings) {
    if (!(settings.requestsPerSec >= 0) || !(settings.requestBurst >= 1)) {
      throw new RangeError(
        `rate limit needs requestsPerSec >= 0 and requestBurst >= 1, got ${settings.requestsPerSec}/${settings.requestBurst}`,
      );
    }
    this.#settings = settings;
  }

  /** Takes a token for one request from `source`; false when the source is over its limit. */
  admit(source: string, nowMs = performance.now()): boolean {
    const { requestsPerSec, requestBurst } = this.#settings;
    if (requestsPerSec === 0) return true;
    let bucket = this.#buckets.get(source);
    if (bucket === undefined) {
      bucket = { tokens: requestBurst, atMs: nowMs };
      if (this.#buckets.size >= MAX_SOURCES) this.#buckets.delete(this.#buckets.keys().next().value!);
    } else {
      this.#buckets.delete(source); // re-inserted below: Map order = least recently seen first
      bucket.tokens = Math.min(requestBurst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * requestsPerSec);
      bucket.atMs = nowMs;
    }
    this.#buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

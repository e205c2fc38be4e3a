// Event-loop lag of the thread it runs in: how late a timer fires, which is how late every media
// tick, RTP send and SIP answer of that thread is. A thread that carries media should stay under
// 20 ms at p99 (issue 16). Works in any thread (perf_hooks is per isolate): a worker samples its
// own and posts the numbers; the main thread's metrics label them by thread.
//
// Reported per window (10 s by default), not since start: a stall an hour ago should not hold the
// max up forever, and a window makes a scrape idempotent (two scrapers read the same numbers).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopLagSample {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface EventLoopLagOptions {
  /** How often the timer that measures the lag fires, ms (Node's default 10). */
  readonly resolutionMs?: number;
  /** Length of the window a sample describes, ms. */
  readonly windowMs?: number;
}

const NS_PER_MS = 1e6;

export class EventLoopLagMonitor {
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #last: EventLoopLagSample | undefined;

  constructor(options: EventLoopLagOptions = {}) {
    this.#histogram = monitorEventLoopDelay({ resolution: options.resolutionMs ?? 10 });
    this.#histogram.enable();
    this.#timer = setInterval(() => {
      this.#last = this.#read();
      this.#histogram.reset();
    }, options.windowMs ?? 10_000);
    this.#timer.unref();
  }

  /** The last complete window; before the first one ends, what the current one has so far. */
  sample(): EventLoopLagSample {
    return this.#last ?? this.#read();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  #read(): EventLoopLagSample {
    const h = this.#histogram;
    // An empty histogram (no timer fired yet) reports min 9.2e18 and NaN percentiles.
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return {
      p50Ms: h.percentile(50) / NS_PER_MS,
      p99Ms: h.percentile(99) / NS_PER_MS,
      maxMs: h.max / NS_PER_MS,
    };
  }
}

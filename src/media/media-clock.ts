// The one media clock: a single 20 ms tick for the whole process that drives every call's
// outbound packets and jitter-buffer pulls (DESIGN.md "One media clock"). One timer for all
// calls instead of one setInterval per call: per-call intervals drift independently and each
// costs a timer wake-up per 20 ms; with 100 calls the proof measured visibly jittery pacing.
import { performance } from 'node:perf_hooks';
import { logger, LogOnce } from '../observability/logger.js';

export interface MediaClockSubscriber {
  /**
   * Called once per tick. `nowMs` is the tick's scheduled time on the performance.now()
   * timeline (start + tickIndex × periodMs, never later than the real time), so consecutive
   * ticks are exactly periodMs apart even when a stalled event loop makes them run in a burst.
   * A gap in `tickIndex` means ticks were skipped.
   */
  tick(nowMs: number, tickIndex: number): void;
}

export interface MediaClockOptions {
  periodMs?: number;
  /** Most missed ticks run back to back after a stall; older ones are skipped and counted. */
  maxBurstTicks?: number;
  /** A tick that runs later than this after its scheduled time counts as late. */
  lateThresholdMs?: number;
}

export interface MediaClockStats {
  ticks: number;
  lateTicks: number;
  maxLatenessMs: number;
  skippedTicks: number;
  subscriberErrors: number;
  subscribers: number;
}

export class MediaClock {
  readonly periodMs: number;
  readonly #maxBurstTicks: number;
  readonly #lateThresholdMs: number;
  readonly #subscribers = new Set<MediaClockSubscriber>();
  readonly #logOnce = new LogOnce();
  #timer: NodeJS.Timeout | undefined;
  /** Set between the timer and the ticks it runs (check phase). */
  #immediate: NodeJS.Immediate | undefined;
  // Bumped on every stop: a burst in progress notices the clock was stopped (and maybe restarted).
  #generation = 0;
  #startMs = 0;
  // Index, relative to #startMs, of the next tick to run; tickIndex handed out is #baseIndex + n.
  #nextN = 0;
  #baseIndex = 0;
  #ticks = 0;
  #lateTicks = 0;
  #maxLatenessMs = 0;
  #skippedTicks = 0;
  #subscriberErrors = 0;

  constructor(options: MediaClockOptions = {}) {
    this.periodMs = options.periodMs ?? 20;
    this.#maxBurstTicks = options.maxBurstTicks ?? 5;
    this.#lateThresholdMs = options.lateThresholdMs ?? this.periodMs / 2;
    if (!(this.periodMs >= 1)) throw new RangeError(`media clock period ${this.periodMs} ms (>= 1)`);
    if (!Number.isInteger(this.#maxBurstTicks) || this.#maxBurstTicks < 1) {
      throw new RangeError(`media clock maxBurstTicks ${this.#maxBurstTicks} (integer >= 1)`);
    }
  }

  /**
   * Adds a subscriber (ticked in subscription order, from the next tick on) and starts the clock
   * if it was idle. Returns the function that unsubscribes it.
   */
  subscribe(subscriber: MediaClockSubscriber): () => void {
    this.#subscribers.add(subscriber);
    if (!this.running) this.#start();
    return () => this.unsubscribe(subscriber);
  }

  /** Safe at any time, also from inside a tick; the clock stops when nobody is subscribed. */
  unsubscribe(subscriber: MediaClockSubscriber): void {
    this.#subscribers.delete(subscriber);
    if (this.#subscribers.size === 0) this.#stop();
  }

  get running(): boolean {
    return this.#timer !== undefined || this.#immediate !== undefined;
  }

  get stats(): MediaClockStats {
    return {
      ticks: this.#ticks,
      lateTicks: this.#lateTicks,
      maxLatenessMs: this.#maxLatenessMs,
      skippedTicks: this.#skippedTicks,
      subscriberErrors: this.#subscriberErrors,
      subscribers: this.#subscribers.size,
    };
  }

  #start(): void {
    this.#startMs = performance.now();
    this.#nextN = 1;
    this.#schedule();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#timer = undefined;
    this.#generation++;
    // tickIndex keeps counting across idle periods so a subscriber never sees it go back.
    this.#baseIndex += this.#nextN;
    this.#nextN = 0;
  }

  #schedule(): void {
    const dueMs = this.#startMs + this.#nextN * this.periodMs;
    // Each tick is aimed at start + n × period, not "previous + period", so setTimeout's
    // ~1 ms lateness per wake-up does not accumulate into drift.
    const waitMs = Math.max(0, dueMs - performance.now());
    this.#timer = setTimeout(this.#onTimer, Math.ceil(waitMs));
  }

  readonly #onTimer = (): void => {
    // The ticks run in the check phase, right after this loop iteration's I/O poll: a datagram
    // that arrived before its tick is read before the tick pulls its audio. After a stall this
    // matters most: the burst of missed ticks would otherwise run before any of the RTP that
    // queued up in the sockets during the stall, find every subframe missing and conceal it.
    this.#timer = undefined;
    this.#immediate = setImmediate(this.#runDue);
  };

  readonly #runDue = (): void => {
    this.#immediate = undefined;
    const generation = this.#generation;
    const nowMs = performance.now();
    const dueCount = Math.floor((nowMs - this.#startMs) / this.periodMs) - this.#nextN + 1;
    if (dueCount > this.#maxBurstTicks) {
      // After a long stall (GC, blocked loop) running every missed tick would send a burst of
      // audio the far end's jitter buffer would drop anyway; run the newest few, skip the rest.
      const skip = dueCount - this.#maxBurstTicks;
      this.#nextN += skip;
      this.#skippedTicks += skip;
    }
    for (let i = 0; i < Math.min(dueCount, this.#maxBurstTicks); i++) {
      const scheduledMs = this.#startMs + this.#nextN * this.periodMs;
      const tickIndex = this.#baseIndex + this.#nextN;
      this.#nextN++;
      this.#runTick(scheduledMs, tickIndex, nowMs - scheduledMs);
      if (generation !== this.#generation) return; // everyone unsubscribed during the tick
    }
    if (this.#timer === undefined && this.#immediate === undefined && this.#subscribers.size > 0)
      this.#schedule();
  };

  #runTick(scheduledMs: number, tickIndex: number, latenessMs: number): void {
    this.#ticks++;
    if (latenessMs > this.#lateThresholdMs) this.#lateTicks++;
    if (latenessMs > this.#maxLatenessMs) this.#maxLatenessMs = latenessMs;
    // Snapshot: subscribers added during this tick start on the next one; ones removed during
    // it (by themselves or another subscriber) are not called any more.
    for (const s of [...this.#subscribers]) {
      if (!this.#subscribers.has(s)) continue;
      try {
        s.tick(scheduledMs, tickIndex);
      } catch (err) {
        // One call's bug must not stop the clock for every other call.
        this.#subscriberErrors++;
        if (this.#logOnce.first(String(err))) logger.error({ err }, 'media clock subscriber threw');
      }
    }
  }
}

/** The process-wide media clock every call subscribes to. */
export const mediaClock = new MediaClock();

// The one media clock: drift-corrected 20 ms ticks on the real clock, subscriber order, safe
// unsubscription during a tick, bursts and skips after a stalled event loop, isolation of a
// throwing subscriber. Each test uses its own MediaClock (not the process-wide one).
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { MediaClock, mediaClock } from '../../src/media/media-clock.js';

function busyWaitMs(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* stall the event loop on purpose */
  }
}

interface SeenTick {
  readonly index: number;
  readonly nowMs: number;
  /** performance.now() inside the subscriber. */
  readonly realMs: number;
  /** The clock's own accounting as this tick ran. */
  readonly ticks: number;
  readonly skipped: number;
  /** The last tick the clock ran in one timer callback (a burst runs several synchronously). */
  lastOfCallback: boolean;
}

/**
 * Subscribes to `clock` for `runMs` of real time (stopped by a timer, not from inside a tick, so
 * no burst is cut short) and records what every tick saw.
 */
async function watch(
  clock: MediaClock,
  runMs: number,
): Promise<{ subscribedFrom: number; subscribedTo: number; seen: SeenTick[] }> {
  const seen: SeenTick[] = [];
  let callbackOpen = false;
  const subscribedFrom = performance.now();
  const unsubscribe = clock.subscribe({
    tick(nowMs, index) {
      const { ticks, skippedTicks } = clock.stats;
      seen.push({
        index,
        nowMs,
        realMs: performance.now(),
        ticks,
        skipped: skippedTicks,
        lastOfCallback: false,
      });
      // Microtasks run once the clock's timer callback returns: after the whole burst.
      if (!callbackOpen) {
        callbackOpen = true;
        queueMicrotask(() => {
          callbackOpen = false;
          seen[seen.length - 1]!.lastOfCallback = true;
        });
      }
    },
  });
  const subscribedTo = performance.now();
  await new Promise((resolve) => setTimeout(resolve, runMs));
  unsubscribe();
  return { subscribedFrom, subscribedTo, seen };
}

/**
 * What holds however the event loop was scheduled (stalls, a slow process): the tick timeline is
 * anchored at subscribe (the k-th period at start + k periods) and advances exactly one period per
 * tickIndex; every period is either run or skipped, once (ticks + skipped = periods since the
 * start); no tick runs early;
 * and whenever the clock gets the loop back it catches up to real time: the last tick of each
 * timer callback is the newest one due, less than a period behind the real clock. A clock that
 * drifts (one tick per wake-up, each wake-up a little late) breaks the last one once its drift
 * passes a period: the 5 ms clock shows it within a second, whatever the machine's timer slack.
 */
function checkTimeline(
  t: Test,
  clock: MediaClock,
  run: { subscribedFrom: number; subscribedTo: number; seen: SeenTick[] },
): void {
  const { seen } = run;
  const period = clock.periodMs;
  const first = seen[0];
  const on = `${period} ms clock`;
  if (first === undefined) {
    t.fail(`${on}: no tick at all`);
    return;
  }
  // A slow start may skip periods before the first tick: they count on the timeline too.
  const startMs = first.nowMs - period * (first.ticks + first.skipped);
  t.ok(
    startMs >= run.subscribedFrom - 1e-6 && startMs <= run.subscribedTo + 1e-6,
    `${on}: the timeline starts at subscribe (first tick at +${(first.nowMs - run.subscribedFrom).toFixed(3)} ms)`,
  );
  const problems: string[] = [];
  let gaps = 0;
  const maxBehind: { ms: number; at: number } = { ms: 0, at: -1 };
  for (const [i, s] of seen.entries()) {
    const periods = first.ticks + first.skipped + (s.index - first.index);
    if (s.ticks + s.skipped !== periods)
      problems.push(`#${s.index}: ticks ${s.ticks} + skipped ${s.skipped} ≠ ${periods} periods`);
    if (s.nowMs > s.realMs) problems.push(`#${s.index}: ran ${(s.nowMs - s.realMs).toFixed(3)} ms early`);
    if (i > 0) {
      const prev = seen[i - 1]!;
      const gap = s.index - prev.index;
      if (gap < 1) problems.push(`#${s.index} after #${prev.index}`);
      gaps += gap - 1;
      if (Math.abs(s.nowMs - prev.nowMs - period * gap) > 1e-6)
        problems.push(`#${s.index}: ${(s.nowMs - prev.nowMs).toFixed(3)} ms after #${prev.index}`);
    }
    // Slack over one period for the subscriber's own bookkeeping in a burst (and a GC pause).
    if (s.lastOfCallback && s.realMs - s.nowMs > maxBehind.ms) {
      maxBehind.ms = s.realMs - s.nowMs;
      maxBehind.at = s.index;
    }
  }
  t.same(problems, [], `${on}: timeline and accounting consistent over ${seen.length} ticks`);
  t.equal(first.ticks, 1, `${on}: new, the first tick seen is its first`);
  t.equal(gaps + first.skipped, seen.at(-1)!.skipped, `${on}: the gaps in tickIndex are the skipped ticks`);
  t.ok(
    maxBehind.ms < period + 10,
    `${on}: caught up after every wake-up, the newest tick at most ${maxBehind.ms.toFixed(1)} ms behind real time (#${maxBehind.at})`,
  );
}

t.test('the tick timeline follows real time: about 1.2 s of 20 ms and of 5 ms ticks', async (t) => {
  const clocks = [new MediaClock(), new MediaClock({ periodMs: 5 })];
  const runs = await Promise.all(clocks.map((clock) => watch(clock, 1200)));
  for (const [i, clock] of clocks.entries()) {
    checkTimeline(t, clock, runs[i]!);
    t.equal(clock.stats.ticks, runs[i]!.seen.length, 'every tick reached the subscriber');
    t.notOk(clock.running, 'stopped when the last subscriber left');
  }
});

t.test('the same with the event loop stalled for 150 ms at t ≈ 1 s', async (t) => {
  const clock = new MediaClock({ maxBurstTicks: 5 });
  const fast = new MediaClock({ periodMs: 5 });
  let stall: { from: number; to: number } | undefined;
  const stallTimer = setTimeout(() => {
    const from = performance.now();
    busyWaitMs(150);
    stall = { from, to: performance.now() };
  }, 1000);
  t.teardown(() => clearTimeout(stallTimer));
  const [run, fastRun] = await Promise.all([watch(clock, 1500), watch(fast, 1500)]);
  t.ok(stall !== undefined && stall.to - stall.from >= 150, 'the loop was stalled for 150 ms');
  checkTimeline(t, clock, run);
  checkTimeline(t, fast, fastRun);
  const s = clock.stats;
  // ≥ 7 periods passed in the stall: the newest 5 run in a burst, the rest are skipped.
  t.ok(s.skippedTicks >= 2, `skipped ${s.skippedTicks}`);
  t.ok(s.lateTicks >= 4, `late ${s.lateTicks}`);
  t.ok(s.maxLatenessMs >= 79, `max lateness ${s.maxLatenessMs.toFixed(1)} ms`);
  const afterStall = run.seen.filter((x) => stall !== undefined && x.realMs >= stall.to);
  // More than the burst: the clock went back to its schedule.
  t.ok(afterStall.length > 5, `ticking on after the stall (${afterStall.length} ticks)`);
  t.notOk(clock.running);
});

t.test('subscribers tick in subscription order; one added mid-tick starts next tick', async (t) => {
  const clock = new MediaClock();
  const log: string[] = [];
  let ticksSeen = 0;
  await new Promise<void>((resolve) => {
    const c = { tick: () => log.push('c') };
    const a = {
      tick: () => {
        log.push('a');
        if (++ticksSeen === 1) clock.subscribe(c);
        if (ticksSeen === 3) {
          clock.unsubscribe(a);
          clock.unsubscribe(b);
          clock.unsubscribe(c);
          resolve();
        }
      },
    };
    const b = { tick: () => log.push('b') };
    clock.subscribe(a);
    clock.subscribe(b);
  });
  t.same(log, ['a', 'b', 'a', 'b', 'c', 'a'], 'c joins on tick 2; b and c removed during tick 3 by a');
  t.equal(clock.stats.subscribers, 0);
  t.notOk(clock.running);
});

t.test('unsubscribing self or a later subscriber during a tick is safe', async (t) => {
  const clock = new MediaClock();
  const calls: string[] = [];
  await new Promise<void>((resolve) => {
    const self = {
      tick: () => {
        calls.push('self');
        clock.unsubscribe(self);
      },
    };
    const victim = { tick: () => calls.push('victim') };
    const killer = {
      tick: () => {
        calls.push('killer');
        clock.unsubscribe(victim);
      },
    };
    const last = {
      tick: (_now: number, index: number) => {
        calls.push('last');
        if (calls.filter((c) => c === 'last').length === 2) {
          clock.unsubscribe(killer);
          clock.unsubscribe(last);
          resolve();
        }
        void index;
      },
    };
    clock.subscribe(self);
    clock.subscribe(killer);
    clock.subscribe(victim);
    clock.subscribe(last);
  });
  t.same(calls, ['self', 'killer', 'last', 'killer', 'last']);
  t.notOk(clock.running);
});

t.test(
  'a stalled loop: missed ticks run in a burst of at most 5, the rest are skipped and counted',
  async (t) => {
    const clock = new MediaClock({ maxBurstTicks: 5 });
    const indices: number[] = [];
    await new Promise<void>((resolve) => {
      const sub = {
        tick: (_nowMs: number, tickIndex: number) => {
          indices.push(tickIndex);
          if (indices.length === 2) busyWaitMs(300); // ~15 periods missed
          if (indices.length === 12) {
            clock.unsubscribe(sub);
            resolve();
          }
        },
      };
      clock.subscribe(sub);
    });
    const s = clock.stats;
    t.ok(s.skippedTicks >= 8, `skipped ${s.skippedTicks} (≈ 15 missed - 5 burst)`);
    // The burst runs the newest 5 due ticks: the oldest of them is 4 periods behind the newest.
    t.ok(s.lateTicks >= 4, `late ${s.lateTicks}`);
    t.ok(s.maxLatenessMs >= 79, `max lateness ${s.maxLatenessMs.toFixed(1)} ms`);
    const gaps = indices.slice(1).map((v, i) => v - indices[i]!);
    t.ok(
      gaps.some((g) => g >= 9),
      `the skip shows as a gap in tickIndex: ${gaps.join(',')}`,
    );
    t.equal(s.ticks, indices.length);
  },
);

t.test('a throwing subscriber does not stop the others or the clock', async (t) => {
  const clock = new MediaClock();
  let good = 0;
  await new Promise<void>((resolve) => {
    const bad = {
      tick: () => {
        throw new Error('call bug');
      },
    };
    const ok = {
      tick: () => {
        if (++good === 5) {
          clock.unsubscribe(bad);
          clock.unsubscribe(ok);
          resolve();
        }
      },
    };
    clock.subscribe(bad);
    clock.subscribe(ok);
  });
  t.equal(clock.stats.subscriberErrors, 5);
  t.equal(good, 5);
});

t.test('tickIndex keeps counting across idle periods; bad options are RangeErrors', async (t) => {
  const clock = new MediaClock({ periodMs: 10 });
  const once = (): Promise<number> =>
    new Promise((resolve) => {
      const sub = {
        tick: (_n: number, i: number) => {
          clock.unsubscribe(sub);
          resolve(i);
        },
      };
      clock.subscribe(sub);
    });
  const first = await once();
  const second = await once();
  t.ok(second > first, `${second} > ${first}`);
  t.throws(() => new MediaClock({ periodMs: 0 }), RangeError);
  t.throws(() => new MediaClock({ maxBurstTicks: 0 }), RangeError);
  t.equal(mediaClock.periodMs, 20, 'the process-wide clock ticks every 20 ms');
  t.notOk(mediaClock.running, 'and is idle without subscribers');
});

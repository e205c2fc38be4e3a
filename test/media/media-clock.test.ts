// The one media clock: drift-corrected 20 ms ticks on the real clock, subscriber order, safe
// unsubscription during a tick, bursts and skips after a stalled event loop, isolation of a
// throwing subscriber. Each test uses its own MediaClock (not the process-wide one).
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { MediaClock, mediaClock } from '../../src/media/media-clock.js';

function busyWaitMs(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* stall the event loop on purpose */
  }
}

t.test('about 1 s of real time is 50 ± 2 ticks, exactly 20 ms apart on the tick timeline', async (t) => {
  const clock = new MediaClock();
  const times: number[] = [];
  const indices: number[] = [];
  const startMs = performance.now();
  await new Promise<void>((resolve) => {
    const unsubscribe = clock.subscribe({
      tick(nowMs, tickIndex) {
        times.push(nowMs);
        indices.push(tickIndex);
        if (performance.now() - startMs >= 1000) {
          unsubscribe();
          resolve();
        }
      },
    });
  });
  const { ticks, skippedTicks } = clock.stats;
  // Drift correction makes this a count of elapsed periods, not of timer wake-ups: a slow
  // process (ASan) bursts missed ticks and skips past 5, so ticks + skipped is still ~50.
  t.ok(Math.abs(ticks + skippedTicks - 50) <= 2, `ticks ${ticks} + skipped ${skippedTicks} ≈ 50`);
  for (let i = 1; i < times.length; i++) {
    const gap = indices[i]! - indices[i - 1]!;
    t.ok(gap >= 1, 'tickIndex increases');
    t.ok(Math.abs(times[i]! - times[i - 1]! - 20 * gap) < 1e-6, 'nowMs advances 20 ms per index');
  }
  t.ok(
    times.every((ms) => ms <= performance.now()),
    'tick time never ahead of the real clock',
  );
  t.notOk(clock.running, 'stopped when the last subscriber left');
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

// Jitter buffer timing through the typed wrapper: PCMU in, PCMU out (zero-transcode), so each
// real 10 ms subframe comes out byte for byte and can be traced back to the packet it came from.
import t, { type Test } from 'tap';
import { InboundAudio, type JitterDelayOptions } from '../../src/media/inbound-audio.js';

const SSRC = 0x11223344;

/** Payload whose every 10 ms chunk carries its own marker byte (μ-law 0x80-0xBF: mid positive levels). */
function payloadFor(firstChunk: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = 0x80 | ((firstChunk + Math.floor(i / 80)) % 64);
  return b;
}

/** Marker of each 10 ms chunk of a frame, or -1 when the chunk is not one real chunk. */
function chunks(frame: Buffer): number[] {
  const out: number[] = [];
  for (let c = 0; c + 80 <= frame.length; c += 80) {
    const m = frame[c]!;
    out.push(frame.subarray(c, c + 80).every((b) => b === m) && m >= 0x80 && m <= 0xbf ? m & 0x3f : -1);
  }
  return out;
}

interface Sent {
  seq: number;
  ts: number;
  ssrc?: number;
  payload: Buffer;
  arrivalMs: number;
}

/** Pushes packets in arrival order and pulls every 20 ms (10 ms after the 20 ms grid). */
function play(sent: Sent[], delay: JitterDelayOptions, untilMs?: number) {
  const audio = new InboundAudio('PCMU', { encoding: 'pcmu' }, delay);
  const byArrival = [...sent].sort((a, b) => a.arrivalMs - b.arrivalMs);
  const end = untilMs ?? Math.max(...sent.map((s) => s.arrivalMs)) + 400;
  const statuses: string[] = [];
  const frames: Buffer[] = [];
  let next = 0;
  for (let now = 1010; now <= end; now += 20) {
    while (next < byArrival.length && byArrival[next]!.arrivalMs <= now) {
      const s = byArrival[next++]!;
      statuses.push(audio.push(s.seq, s.ts, s.ssrc ?? SSRC, s.payload, s.arrivalMs));
    }
    const f = audio.pull(now);
    if (f) frames.push(f);
  }
  return { audio, statuses, frames, markers: frames.flatMap(chunks) };
}

function stream(
  n: number,
  opts: { seq0?: number; ts0?: number; ptimeMs?: number; t0?: number } = {},
): Sent[] {
  const ptimeMs = opts.ptimeMs ?? 20;
  const samples = ptimeMs * 8;
  return Array.from({ length: n }, (_, i) => ({
    seq: ((opts.seq0 ?? 1000) + i) % 65536,
    ts: ((opts.ts0 ?? 123456) + i * samples) % 2 ** 32,
    payload: payloadFor(i * (ptimeMs / 10), samples),
    arrivalMs: (opts.t0 ?? 1000) + i * ptimeMs,
  }));
}

/** The real markers, checked to be consecutive (mod 64) from the first. */
function assertContinuous(t: Test, markers: number[], expectedChunks: number, msg: string) {
  const real = markers.filter((m) => m >= 0);
  t.equal(real.length, expectedChunks, `${msg}: every chunk played`);
  const breaks = real.filter((m, i) => i > 0 && m !== (real[i - 1]! + 1) % 64).length;
  t.equal(breaks, 0, `${msg}: chunks in order`);
}

t.test('in-order packets come out unchanged, in order, nothing before the target delay', async (t) => {
  const { audio, statuses, frames, markers } = play(stream(50), { minDelayMs: 40, maxDelayMs: 200 });
  t.ok(statuses.every((s) => s === 'accepted'));
  t.ok(frames.every((f) => f.length === 160));
  assertContinuous(t, markers, 100, 'in order');
  t.equal(
    markers.find((m) => m >= 0),
    0,
    'starts with the first packet',
  );
  t.ok(markers.findIndex((m) => m >= 0) <= 1, 'after at most 10 ms of start-up silence');
  const s = audio.stats();
  t.equal(s.received, 50);
  t.equal(s.lost, 0);
  t.equal(s.late, 0);
  t.equal(s.duplicates, 0);
  t.equal(s.targetDelayMs, 40, 'no jitter: target stays at the minimum');
  const first = new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 40, maxDelayMs: 200 });
  t.equal(first.pull(1000), undefined, 'nothing before any packet');
  first.push(1, 0, SSRC, payloadFor(0, 160), 1000);
  t.equal(first.pull(1010), undefined, 'nothing before the first packet was held for the target delay');
  t.ok(first.pull(1070), 'a frame once it was');
});

t.test('reordered packets are put back in order', async (t) => {
  const sent = stream(60);
  for (let i = 0; i + 1 < sent.length; i += 3) sent[i]!.arrivalMs += 25; // arrives after i+1
  const { audio, statuses, markers } = play(sent, { minDelayMs: 40, maxDelayMs: 200 });
  t.ok(
    statuses.every((s) => s === 'accepted'),
    'all accepted',
  );
  assertContinuous(t, markers, 120, 'reordered');
  t.equal(audio.stats().late, 0);
  t.equal(audio.stats().lost, 0);
});

t.test('duplicates are reported and dropped', async (t) => {
  const sent = stream(30);
  const dups = sent.filter((_, i) => i % 5 === 2).map((s) => ({ ...s, arrivalMs: s.arrivalMs + 3 }));
  const { audio, statuses, markers } = play([...sent, ...dups], { minDelayMs: 40, maxDelayMs: 200 });
  t.equal(statuses.filter((s) => s === 'duplicate').length, dups.length);
  t.equal(audio.stats().duplicates, dups.length);
  t.equal(audio.stats().received, 30);
  assertContinuous(t, markers, 60, 'with duplicates');
});

t.test('a packet after its playout time is late; its slot is concealed', async (t) => {
  const sent = stream(40);
  sent[20]!.arrivalMs += 400;
  const { audio, statuses, markers } = play(sent, { minDelayMs: 40, maxDelayMs: 60 });
  t.equal(statuses.filter((s) => s === 'late').length, 1);
  const s = audio.stats();
  t.equal(s.late, 1);
  t.equal(s.lost, 0, 'late is not lost');
  t.ok(s.concealed >= 1, 'the missing 20 ms was concealed');
  t.notOk(markers.includes(40) || markers.includes(41), 'the late audio is not played out of place');
});

t.test('sequence numbers wrap at 65535 and timestamps at 2^32', async (t) => {
  const seqWrap = play(stream(40, { seq0: 65520 }), { minDelayMs: 40, maxDelayMs: 200 });
  t.ok(seqWrap.statuses.every((s) => s === 'accepted'));
  assertContinuous(t, seqWrap.markers, 80, 'seq wrap');
  t.equal(seqWrap.audio.stats().lost, 0);
  const tsWrap = play(stream(40, { ts0: 2 ** 32 - 160 * 10 }), { minDelayMs: 40, maxDelayMs: 200 });
  t.ok(tsWrap.statuses.every((s) => s === 'accepted'));
  assertContinuous(t, tsWrap.markers, 80, 'ts wrap');
  t.equal(tsWrap.audio.stats().resyncs, 0);
});

t.test('an SSRC change resyncs onto the new stream', async (t) => {
  const a = stream(30);
  const b = stream(30, { seq0: 7, ts0: 999, t0: 1000 + 30 * 20 }).map((s) => ({
    ...s,
    ssrc: 0xdeadbeef,
    payload: payloadFor(60 + 2 * (s.seq - 7), 160), // continue the marker sequence
  }));
  const { audio, statuses, markers } = play([...a, ...b], { minDelayMs: 40, maxDelayMs: 200 });
  t.equal(statuses[30], 'resync');
  t.equal(statuses.filter((s) => s === 'resync').length, 1);
  const s = audio.stats();
  t.equal(s.resyncs, 1);
  t.equal(s.lost, 0, 'no phantom losses across the change');
  const real = markers.filter((m) => m >= 0);
  t.equal(real.length, 120, 'both streams play in full');
  t.equal(real.at(-1), (60 + 59) % 64, 'ends with the new stream');
});

t.test('a timestamp jump and an absurd sequence jump resync', async (t) => {
  const a = stream(60);
  for (let i = 30; i < 60; i++) a[i]!.ts = (a[i]!.ts + 1_000_000_000) % 2 ** 32;
  const jump = play(a, { minDelayMs: 40, maxDelayMs: 200 });
  t.equal(jump.statuses[30], 'resync');
  t.equal(jump.audio.stats().resyncs, 1);
  t.equal(jump.markers.filter((m) => m >= 0).length, 120, 'no audio lost over the jump');

  const b = stream(60);
  for (let i = 30; i < 60; i++) b[i]!.seq = (b[i]!.seq + 30000) % 65536;
  const seqJump = play(b, { minDelayMs: 40, maxDelayMs: 200 });
  t.equal(seqJump.statuses[30], 'resync');
  t.equal(seqJump.audio.stats().lost, 0, 'the jump is not counted as 30000 losses');
});

for (const ptimeMs of [10, 20, 30, 40, 60]) {
  t.test(`ptime ${ptimeMs} ms in, 20 ms frames out`, async (t) => {
    const n = Math.round(1200 / ptimeMs);
    const { audio, frames, markers } = play(stream(n, { ptimeMs }), { minDelayMs: 20, maxDelayMs: 200 });
    t.ok(frames.every((f) => f.length === 160));
    assertContinuous(t, markers, 120, `ptime ${ptimeMs}`);
    t.equal(audio.stats().lost, 0);
    t.equal(audio.stats().late, 0);
  });
}

t.test('losses are counted and concealed; events share the sequence space', async (t) => {
  const sent = stream(50).filter((_, i) => i !== 10 && i !== 11 && i !== 30);
  const { audio, markers } = play(sent, { minDelayMs: 40, maxDelayMs: 200 });
  const s = audio.stats();
  t.equal(s.lost, 3);
  // 3 gaps of 1-2 frames each (a 10 ms wait for a possibly reordered packet can move a gap across
  // a frame boundary), then 60 ms of audible concealment after the stream ends (silence after).
  t.ok(s.concealed >= 3 + 3 && s.concealed <= 6 + 4, `concealed frames: ${s.concealed}`);
  // 100 chunks - 6 missing - the first chunk after each of the 2 gaps, crossfaded out of concealment.
  t.equal(markers.filter((m) => m >= 0).length, 92);

  // RFC 4733 telephone-event packets take sequence numbers: a zero-length push marks them used.
  const withEvents: Sent[] = [];
  for (let i = 0; i < 40; i++) {
    withEvents.push({ seq: 2 * i, ts: i * 160, payload: payloadFor(2 * i, 160), arrivalMs: 1000 + i * 20 });
    if (i % 4 === 0)
      withEvents.push({ seq: 2 * i + 1, ts: 0, payload: Buffer.alloc(0), arrivalMs: 1001 + i * 20 });
  }
  const ev = play(withEvents, { minDelayMs: 40, maxDelayMs: 200 });
  t.equal(ev.audio.stats().lost, 29, 'only the sequence numbers nobody sent are lost');
  t.equal(ev.audio.stats().received, 40);
});

/** Deterministic PRNG (mulberry32) so the jitter traces are the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('the target delay follows the measured jitter, within min and max', async (t) => {
  const jittery = (seed: number, maxJitterMs: number) => {
    const r = rng(seed);
    return stream(1500).map((s) => ({ ...s, arrivalMs: s.arrivalMs + r() * maxJitterMs }));
  };
  const calm = play(stream(500), { minDelayMs: 20, maxDelayMs: 300 }).audio.stats();
  const mid = play(jittery(1, 60), { minDelayMs: 20, maxDelayMs: 300 }).audio.stats();
  const capped = play(jittery(1, 60), { minDelayMs: 20, maxDelayMs: 35 }).audio.stats();
  const floor = play(jittery(2, 10), { minDelayMs: 80, maxDelayMs: 300 }).audio.stats();
  t.equal(calm.targetDelayMs, 20, 'no jitter: the minimum');
  // Up to 60 ms of jitter, measured per 10 ms of audio: the first half of a 20 ms packet
  // waits 10 ms longer for its packet than the second, so the spread reaches 70 ms.
  t.ok(mid.targetDelayMs > 45 && mid.targetDelayMs <= 70, `60 ms jitter: target ${mid.targetDelayMs}`);
  t.ok(mid.late / 1500 < 0.03, `few late packets once adapted (${mid.late})`);
  t.ok(mid.jitterMs > 10, `RFC 3550 jitter measured (${mid.jitterMs.toFixed(1)} ms)`);
  t.ok(
    capped.targetDelayMs > 30 && capped.targetDelayMs <= 35,
    `capped at the maximum (${capped.targetDelayMs})`,
  );
  t.ok(capped.late > mid.late, 'and pays for it in late packets');
  t.equal(floor.targetDelayMs, 80, 'never below the minimum');
  t.ok(mid.currentDelayMs >= mid.targetDelayMs - 1, 'the playout point follows the target');
});

t.test('lateCostMs trades delay for late audio', async (t) => {
  // Heavy-tailed jitter (Pareto, alpha 1.2, capped at 80 ms): every target below the cap loses
  // the packets at the cap, so the cheaper late audio is, the lower the target.
  const r = rng(7);
  const sent = stream(3000).map((s) => ({
    ...s,
    arrivalMs: s.arrivalMs + Math.min(80, 5 / Math.pow(1 - r(), 1 / 1.2) - 5),
  }));
  const run = (lateCostMs: number) =>
    play(sent, { minDelayMs: 0, maxDelayMs: 300, lateCostMs }).audio.stats();
  const cheap = run(2);
  const normal = run(9);
  const dear = run(40);
  const fmt = (s: { meanAddedDelayMs: number; late: number }) =>
    `${s.meanAddedDelayMs.toFixed(1)} ms, ${s.late} late`;
  t.ok(
    cheap.meanAddedDelayMs < normal.meanAddedDelayMs && normal.meanAddedDelayMs <= dear.meanAddedDelayMs,
    `delay rises with the cost: ${fmt(cheap)} / ${fmt(normal)} / ${fmt(dear)}`,
  );
  t.ok(cheap.late > normal.late && normal.late >= dear.late, 'late audio falls with it');
  t.ok(cheap.late < 3000 * 0.2, 'even the cheapest setting plays most packets');
});

t.test('garbage packets never crash it and memory stays bounded', async (t) => {
  const r = rng(7);
  const audio = new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 20, maxDelayMs: 1000 });
  const counts = new Map<string, number>();
  let frames = 0;
  for (let i = 0; i < 20000; i++) {
    const size = r() < 0.1 ? Math.floor(r() * 3000) : Math.floor(r() * 500);
    const status = audio.push(
      Math.floor(r() * 65536),
      Math.floor(r() * 2 ** 32),
      r() < 0.9 ? SSRC : Math.floor(r() * 2 ** 32),
      Buffer.alloc(size, Math.floor(r() * 256)),
      1000 + i * 5 + (r() < 0.05 ? r() * 1e9 : 0),
    );
    counts.set(status, (counts.get(status) ?? 0) + 1);
    if (i % 4 === 0) {
      const f = audio.pull(1000 + i * 5);
      if (f) {
        t.equal(f.length, 160);
        frames++;
      }
    }
  }
  t.ok(frames > 4000, 'frames kept coming');
  t.ok((counts.get('invalid') ?? 0) > 0 && (counts.get('resync') ?? 0) > 0, JSON.stringify([...counts]));
});

/** μ-law silence (0xFF): a quiet packet, a pause in the speech. */
const quietPayload = (bytes: number): Buffer => Buffer.alloc(bytes, 0xff);

t.test('in a pause, a packet that misses its slot is not waited for: the delay does not move', async (t) => {
  // No jitter, 20 ms target: packet 20 arrives 15 ms behind time, 5 ms after the pull that
  // needed its first half; the packets before it are a pause. Waiting for it would move the
  // playout 10 ms for good (and a phrase echoed back would no longer line up with itself).
  const sent = stream(40);
  for (let i = 12; i < 20; i++) sent[i]!.payload = quietPayload(160);
  sent[20]!.arrivalMs += 15;
  const late = play(sent, { minDelayMs: 20, maxDelayMs: 100 });
  const onTime = play(
    stream(40).map((s, i) => (i >= 12 && i < 20 ? { ...s, payload: quietPayload(160) } : s)),
    { minDelayMs: 20, maxDelayMs: 100 },
  );
  t.equal(late.audio.stats().late, 1, 'the late packet is dropped');
  const at = (markers: number[]): number => markers.indexOf(50);
  t.equal(at(late.markers), at(onTime.markers), 'the audio after it plays at the same time as without it');
});

t.test(
  'in speech, a packet that misses its slot is concealed in place: nothing after it moves',
  async (t) => {
    const sent = stream(40);
    sent[20]!.arrivalMs += 15;
    const late = play(sent, { minDelayMs: 20, maxDelayMs: 100 });
    const onTime = play(stream(40), { minDelayMs: 20, maxDelayMs: 100 });
    t.equal(late.audio.stats().late, 1, 'the late packet is dropped');
    t.equal(late.audio.stats().skipped, 0);
    const after = (markers: number[]): number => markers.indexOf(50);
    t.equal(
      after(late.markers),
      after(onTime.markers),
      'the audio after it plays at the same time as without it',
    );
    t.same(
      late.markers.slice(after(late.markers)),
      onTime.markers.slice(after(onTime.markers)),
      'and all of it, unchanged',
    );
  },
);

t.test(
  'excess delay is given back once the jitter ends: in pauses, or by forced drops in sound that never pauses',
  async (t) => {
    const r = rng(3);
    // 12 s of 0-80 ms jitter raise the target; then 15 s without jitter, with a 100 ms pause every
    // 500 ms and a loss inside each pause, long enough for the jittery part to leave the 10 s window.
    const paused = stream(1350)
      .map((s, i) => (i < 600 ? { ...s, arrivalMs: s.arrivalMs + r() * 80 } : s))
      .map((s, i) => (i >= 600 && i % 25 >= 20 ? { ...s, payload: quietPayload(160) } : s))
      .filter((_, i) => i < 600 || i % 25 !== 22);
    const { audio } = play(paused, { minDelayMs: 20, maxDelayMs: 300 });
    const s = audio.stats();
    t.ok(s.targetDelayMs <= 30, `target back down (${s.targetDelayMs})`);
    t.ok(s.currentDelayMs <= s.targetDelayMs + 10, `delay followed (${s.currentDelayMs})`);
    t.ok(
      s.skipped + s.dropped >= 5,
      `given back in the pauses (${s.skipped} gaps closed, ${s.dropped} quiet subframes dropped)`,
    );
    t.equal(s.forcedDrops, 0, 'no speech dropped');

    // The same with no pause at all (loud sound throughout, a loss every 500 ms): the losses are
    // concealed in place and the excess goes by forced drops, the first 5 s after it appears.
    const r2 = rng(3);
    const loud = stream(1750)
      .map((x, i) => (i < 600 ? { ...x, arrivalMs: x.arrivalMs + r2() * 80 } : x))
      .filter((_, i) => i < 600 || i % 25 !== 0);
    const noPause = play(loud, { minDelayMs: 20, maxDelayMs: 300 }).audio.stats();
    t.ok(noPause.currentDelayMs <= noPause.targetDelayMs + 10, `delay followed (${noPause.currentDelayMs})`);
    t.ok(noPause.forcedDrops >= 1, `by forced drops (${noPause.forcedDrops})`);
  },
);

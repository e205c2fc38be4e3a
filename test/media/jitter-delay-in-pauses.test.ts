// The jitter buffer changes its delay only in pauses (issue 16): speech-like audio (voiced
// segments with pauses between them) goes through InboundAudio, PCMU in and out, while packets
// that carry only a pause arrive later and later (40, then 80, then 120 ms). Their delays raise
// the target at whatever moment the next 100 ms re-evaluation falls, often in the middle of the
// next voiced segment. Speech packets are always on time, so every voiced segment must come out
// whole: its real subframes byte for byte at one offset (a delay change inside it would give two
// offsets, or a hole), and correlating >= 0.99 with the input at that offset.
import t, { type Test } from 'tap';
import { InboundAudio } from '../../src/media/inbound-audio.js';
import { decodeUlaw, encodeUlaw } from '../../src/media/g711.js';

const RATE = 8000;
const SUB = 80; // 10 ms
const SSRC = 0x5eec4;

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Segment {
  voiced: boolean;
  start: number; // subframe index
  end: number; // exclusive
}

/**
 * Voiced segments of 0.4-0.9 s (a gliding 90-220 Hz pitch, 12 harmonics with a formant-like
 * tilt, 5 ms onset and decay, peaks near -10 dBFS, a little aspiration noise) between pauses of
 * 0.25-0.45 s of room noise near -64 dBFS. Boundaries on the 10 ms grid, so each subframe is
 * either speech or pause.
 */
function speechLike(seconds: number, seed: number): { pcm: Int16Array; segments: Segment[] } {
  const r = rng(seed);
  const total = (seconds * RATE) / SUB;
  const pcm = new Int16Array(total * SUB);
  const segments: Segment[] = [];
  let at = 0;
  let voiced = false;
  while (at < total) {
    const len = voiced ? 40 + Math.floor(r() * 50) : 25 + Math.floor(r() * 20);
    const end = Math.min(total, at + len);
    segments.push({ voiced, start: at, end });
    const n0 = at * SUB;
    const n1 = end * SUB;
    const f0a = 90 + r() * 130;
    const f0b = 90 + r() * 130;
    let phase = 0;
    for (let n = n0; n < n1; n++) {
      const noise = (r() - 0.5) * 2;
      if (!voiced) {
        pcm[n] = Math.round(noise * 40);
        continue;
      }
      const u = (n - n0) / (n1 - n0);
      const f0 = f0a + (f0b - f0a) * u + 15 * Math.sin(2 * Math.PI * 3 * u);
      phase += (2 * Math.PI * f0) / RATE;
      let v = 0;
      for (let k = 1; k <= 12; k++) {
        const formant = 1 + 2 * Math.exp(-(((k * f0 - 700) / 300) ** 2));
        v += (formant / k) * Math.sin(k * phase + k * k);
      }
      const edge = 40; // 5 ms raised-cosine onset and decay
      const env = Math.min(1, (n - n0 + 1) / edge, (n1 - n) / edge);
      const shaped = 0.5 - 0.5 * Math.cos(Math.PI * env);
      pcm[n] = Math.round(shaped * (4500 * v + 300 * noise));
    }
    at = end;
    voiced = !voiced;
  }
  return { pcm, segments };
}

function pcmBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

function samples(pcm16: Buffer): Int16Array {
  const out = new Int16Array(pcm16.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = pcm16.readInt16LE(i * 2);
  return out;
}

function correlation(a: Int16Array, b: Int16Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb || 1);
}

interface Played {
  audio: InboundAudio;
  out: Buffer;
  targets: number[];
  stats: ReturnType<InboundAudio['stats']>[];
}

/** 20 ms packets of `mulaw` (packet i arriving at 1002 + 20 i + lateBy(i, nominal)), pulled every 20 ms. */
function play(mulaw: Buffer, lateBy: (i: number, nominalMs: number) => number, tailMs = 500): Played {
  const audio = new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 20, maxDelayMs: 300 });
  const packets = mulaw.length / 160;
  const sent = Array.from({ length: packets }, (_, i) => {
    const nominal = 1000 + 20 * i + 2;
    return { i, arrivalMs: nominal + lateBy(i, nominal) };
  }).sort((a, b) => a.arrivalMs - b.arrivalMs);
  const frames: Buffer[] = [];
  const targets: number[] = [];
  const stats: ReturnType<InboundAudio['stats']>[] = [];
  let next = 0;
  for (let now = 1010; now <= 1000 + packets * 20 + tailMs; now += 20) {
    while (next < sent.length && sent[next]!.arrivalMs <= now) {
      const { i, arrivalMs } = sent[next++]!;
      audio.push(i, i * 160, SSRC, mulaw.subarray(i * 160, i * 160 + 160), arrivalMs);
    }
    const f = audio.pull(now);
    if (f) frames.push(f);
    const s = audio.stats();
    targets.push(s.targetDelayMs);
    stats.push(s);
  }
  return { audio, out: Buffer.concat(frames), targets, stats };
}

/**
 * Each voiced segment (>= 200 ms) in the output: its real subframes are found byte for byte (they
 * are unique); `split` counts segments played at more than one offset (a delay change inside),
 * `incomplete` those with subframes that did not come out unchanged, `worst` is the lowest
 * correlation of a segment with the input at the offset most of it played at.
 */
function analyse(t: Test, mulaw: Buffer, segments: Segment[], out: Buffer) {
  const reference = samples(decodeUlaw(mulaw));
  const outPcm = samples(decodeUlaw(out));
  const voicedAt = new Uint8Array(mulaw.length / SUB);
  for (const s of segments) if (s.voiced) voicedAt.fill(1, s.start, s.end);
  const inputIndex = new Map<string, number>();
  for (let j = 0; j < voicedAt.length; j++) {
    if (voicedAt[j]) inputIndex.set(mulaw.subarray(j * SUB, (j + 1) * SUB).toString('latin1'), j);
  }
  const offsetOf = new Map<number, number>(); // input subframe -> output subframe - input subframe
  for (let k = 0; k + SUB <= out.length; k += SUB) {
    const j = inputIndex.get(out.subarray(k, k + SUB).toString('latin1'));
    if (j !== undefined) offsetOf.set(j, k / SUB - j);
  }
  const voiced = segments.filter((s) => s.voiced && s.end - s.start >= 20);
  const offsets = new Set<number>();
  let worst = 1;
  let split = 0;
  let incomplete = 0;
  for (const s of voiced) {
    const seen = new Map<number, number>(); // offset -> subframes played at it
    for (let j = s.start; j < s.end; j++) {
      const o = offsetOf.get(j);
      if (o !== undefined) seen.set(o, (seen.get(o) ?? 0) + 1);
    }
    const matched = [...seen.values()].reduce((a, b) => a + b, 0);
    if (seen.size !== 1) {
      split++;
      t.comment(`segment ${s.start * 10}-${s.end * 10} ms: played at offsets ${[...seen.keys()].join(', ')}`);
    } else if (matched < s.end - s.start) {
      incomplete++;
      t.comment(`segment ${s.start * 10}-${s.end * 10} ms: ${s.end - s.start - matched} subframes changed`);
    }
    const offset = [...seen.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
    offsets.add(offset);
    const a = reference.subarray(s.start * SUB, s.end * SUB);
    const b = outPcm.subarray((s.start + offset) * SUB, (s.end + offset) * SUB);
    worst = Math.min(worst, b.length === a.length ? correlation(a, b) : 0);
  }
  return { voiced: voiced.length, split, incomplete, worst, offsets, voicedAt };
}

/** Only inside a pause (its neighbours pause too): when late, its concealment ends in the pause. */
function insidePause(voicedAt: Uint8Array, i: number): boolean {
  return voicedAt.subarray(Math.max(0, 2 * i - 2), 2 * i + 4).every((v) => v === 0);
}

function voicedMap(segments: Segment[], subframes: number): Uint8Array {
  const at = new Uint8Array(subframes);
  for (const s of segments) if (s.voiced) at.fill(1, s.start, s.end);
  return at;
}

t.test('a rising target waits for a pause: every voiced segment comes out whole', async (t) => {
  const { pcm, segments } = speechLike(30, 16);
  const mulaw = encodeUlaw(pcmBytes(pcm));
  const voicedAt = voicedMap(segments, pcm.length / SUB);
  // From 3 s on, a packet inside a pause arrives 40 ms late, 30 ms more every 5 s (up to 190 ms):
  // the target rises in steps, each once enough of them are in its window. Speech is on time.
  const { audio, out, targets } = play(mulaw, (i, nominal) =>
    !insidePause(voicedAt, i) || nominal < 4000 ? 0 : 40 + 30 * Math.floor((nominal - 4000) / 5000),
  );
  const r = analyse(t, mulaw, segments, out);
  const stats = audio.stats();
  t.comment(
    `target ${Math.min(...targets)}-${Math.max(...targets)} ms; offsets (10 ms) ${[...r.offsets].join(' ')}; ` +
      `inserted ${stats.inserted}, dropped ${stats.dropped}, skipped ${stats.skipped}, late ${stats.late}`,
  );
  t.ok(r.voiced >= 25, `${r.voiced} voiced segments`);
  t.ok(Math.max(...targets) >= 120, 'the target rose by 100 ms or more during the call');
  t.ok(r.offsets.size >= 4, 'so the delay changed several times');
  t.equal(r.split, 0, 'no voiced segment plays at two delays: every change fell in a pause');
  t.equal(r.incomplete, 0, 'every real subframe of every voiced segment played unchanged');
  t.ok(
    r.worst >= 0.99,
    `each voiced segment correlates >= 0.99 with the input (worst ${r.worst.toFixed(4)})`,
  );
  t.equal(stats.forcedDrops, 0, 'no speech dropped');
});

t.test('excess delay is given back in pauses once the jitter ends', async (t) => {
  const { pcm, segments } = speechLike(50, 17);
  const mulaw = encodeUlaw(pcmBytes(pcm));
  const voicedAt = voicedMap(segments, pcm.length / SUB);
  // 3-12 s: packets inside pauses 120 ms late; then none, and 10 s later the target falls back.
  const { audio, out, targets } = play(mulaw, (i, nominal) =>
    insidePause(voicedAt, i) && nominal >= 4000 && nominal < 13000 ? 120 : 0,
  );
  const r = analyse(t, mulaw, segments, out);
  const s = audio.stats();
  t.comment(`offsets (10 ms) ${[...r.offsets].join(' ')}; dropped ${s.dropped}, skipped ${s.skipped}`);
  t.ok(Math.max(...targets) >= 100 && s.targetDelayMs <= 30, `target rose and fell (now ${s.targetDelayMs})`);
  // Within one 10 ms step of it (the playout point is on the 10 ms grid: up to 20 ms over).
  t.ok(s.currentDelayMs < s.targetDelayMs + 20, `the delay followed it down (${s.currentDelayMs})`);
  t.ok(s.dropped >= 5, `by dropping quiet audio (${s.dropped} x 10 ms)`);
  t.equal(s.forcedDrops, 0, 'none of it speech');
  t.equal(r.split, 0, 'no voiced segment plays at two delays');
  t.equal(r.incomplete, 0, 'every real subframe of every voiced segment played unchanged');
});

t.test('with no pause and no loss, excess delay is dropped from speech only after 5 s', async (t) => {
  // 40 s of one continuous vowel-like sound: 0-80 ms jitter for the first 6 s raises the target,
  // which falls back 10 s later (about 16 s in); nothing is quiet and nothing is lost after that.
  const n = 40 * RATE;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++)
    pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 150 * i) / RATE + 0.3 * Math.sin(i / 900)));
  const mulaw = encodeUlaw(pcmBytes(pcm));
  const r = rng(5);
  const { stats } = play(mulaw, (_, nominal) => (nominal < 7000 ? r() * 80 : 0));
  const excessFrom = stats.findIndex((s, i) => i > 400 && s.currentDelayMs >= s.targetDelayMs + 10);
  const firstForced = stats.findIndex((s) => s.forcedDrops > 0);
  const last = stats.at(-1)!;
  t.comment(
    `excess from pull ${excessFrom}, first forced drop at pull ${firstForced}; ${JSON.stringify(last)}`,
  );
  t.ok(excessFrom > 0, 'the target fell below the delay');
  t.ok(
    firstForced - excessFrom >= 245,
    `no speech dropped for 5 s of excess (${(firstForced - excessFrom) * 20} ms)`,
  );
  t.ok(last.forcedDrops > 0 && last.forcedDrops === last.dropped, 'then it was, as the only drops');
  t.ok(last.currentDelayMs < last.targetDelayMs + 20, `and the delay came down (${last.currentDelayMs})`);
});

// Packet-loss concealment heard through InboundAudio (PCMU in, PCMU out): a voiced test
// signal (125 Hz fundamental, decaying harmonics) loses packets; the concealment must continue
// the pitch, fade 20 % per 10 ms after the first 10 ms, be silent after 60 ms, and hand back to
// the real audio without a click.
import t from 'tap';
import { InboundAudio } from '../../src/media/inbound-audio.js';

// G.711 μ-law (ITU-T G.711 table; the reference for these tests, per sample on purpose).
function ulawEncode(sample: number): number {
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  s += 0x84;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}
function ulawDecode(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

const RATE = 8000;
const voiced = (n: number, f0 = 125) =>
  [1, 2, 3, 4, 5].reduce((acc, h) => acc + (6000 / h) * Math.sin((2 * Math.PI * f0 * h * n) / RATE + h), 0);

/** Plays `packets` 20 ms packets of the voiced signal, minus `lost`, and returns the decoded output. */
function playWithLoss(packets: number, lost: Set<number>, f0 = 125) {
  const audio = new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 20, maxDelayMs: 200 });
  const out: number[] = [];
  for (let i = 0; i < packets; i++) {
    const now = 1000 + i * 20;
    if (!lost.has(i)) {
      const payload = Buffer.from(Array.from({ length: 160 }, (_, k) => ulawEncode(voiced(i * 160 + k, f0))));
      audio.push(i, i * 160, 42, payload, now);
    }
    const frame = audio.pull(now + 10);
    if (frame) for (const b of frame) out.push(ulawDecode(b));
  }
  // Playout may start with 10 ms of silence (started 10 ms early rather than late).
  const leadIn = out.slice(0, 80).every((v) => v === 0) ? 80 : 0;
  return { out: out.slice(leadIn), stats: audio.stats() };
}

const original = (n: number, f0 = 125) => ulawDecode(ulawEncode(voiced(n, f0)));
const energy = (x: number[], from: number, to: number) =>
  x.slice(from, to).reduce((a, v) => a + v * v, 0) / Math.max(1, to - from);
const maxStep = (x: number[], from: number, to: number) => {
  let m = 0;
  for (let n = Math.max(1, from); n < to; n++) m = Math.max(m, Math.abs(x[n]! - x[n - 1]!));
  return m;
};
const naturalStep = maxStep(
  Array.from({ length: 4000 }, (_, n) => original(n)),
  1,
  4000,
);

t.test('output lines up with the input when nothing is lost', async (t) => {
  const { out, stats } = playWithLoss(40, new Set());
  t.ok(out.length >= 39 * 160);
  let diff = 0;
  for (let n = 0; n < out.length; n++) diff = Math.max(diff, Math.abs(out[n]! - original(n)));
  t.equal(diff, 0, 'bit exact (zero-transcode)');
  t.equal(stats.concealed, 0);
});

t.test('a 20 ms loss is bridged with the pitch continued', async (t) => {
  const { out, stats } = playWithLoss(60, new Set([30]));
  const from = 30 * 160;
  let dot = 0;
  let ea = 0;
  let eb = 0;
  for (let n = from; n < from + 80; n++) {
    dot += out[n]! * original(n);
    ea += out[n]! ** 2;
    eb += original(n) ** 2;
  }
  const corr = dot / Math.sqrt(ea * eb);
  t.ok(corr > 0.8, `first 10 ms of concealment follows the waveform (correlation ${corr.toFixed(3)})`);
  const ratio = energy(out, from, from + 80) / energy(out, from - 160, from);
  t.ok(ratio > 0.6 && ratio < 1.4, `first 10 ms at full level (energy ratio ${ratio.toFixed(2)})`);
  t.equal(stats.lost, 1);
  t.ok(stats.concealed >= 1 && stats.concealed <= 2, 'one or two frames (when frames straddle packets)');
  const step = maxStep(out, from - 80, from + 160 + 160);
  t.ok(
    step <= naturalStep * 1.25,
    `no click into or out of the gap: max step ${step} vs natural ${naturalStep}`,
  );
  let after = 0;
  for (let n = from + 320; n < from + 800; n++) after = Math.max(after, Math.abs(out[n]! - original(n)));
  t.equal(after, 0, 'back to the real audio, bit exact, once the merge is over');
});

t.test('a long loss fades 20 % per 10 ms after the first 10 ms and is silent after 60 ms', async (t) => {
  const { out, stats } = playWithLoss(60, new Set([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]));
  const from = 20 * 160;
  const reference = energy(out, from - 160, from);
  const levels = Array.from({ length: 8 }, (_, k) =>
    Math.sqrt(energy(out, from + k * 80, from + (k + 1) * 80) / reference),
  );
  t.ok(levels[0]! > 0.75, `0-10 ms: full level (${levels[0]!.toFixed(2)})`);
  for (let k = 1; k < 6; k++) {
    // Linear ramp from 1 at 10 ms to 0 at 60 ms: the RMS over 10 ms k is about 1 - 0.2k + 0.1.
    const expected = 1 - 0.2 * k + 0.1;
    t.ok(
      levels[k]! < levels[k - 1]!,
      `${k * 10}-${k * 10 + 10} ms quieter than before (${levels[k]!.toFixed(2)})`,
    );
    t.ok(Math.abs(levels[k]! - expected) < 0.2, `${k * 10}-${k * 10 + 10} ms near ${expected.toFixed(2)}`);
  }
  t.ok(
    out.slice(from + 480, from + 1600).every((v) => v === 0),
    'silence from 60 ms until the audio returns',
  );
  t.equal(stats.lost, 10);
  t.ok(stats.concealed >= 3 && stats.concealed <= 4, 'only the audible 60 ms count as concealed');
  const back = from + 1600;
  const step = maxStep(out, back - 10, back + 160);
  t.ok(step <= naturalStep, `the return fades in from silence: max step ${step} vs natural ${naturalStep}`);
  t.ok(Math.abs(out[back]!) < Math.abs(original(back)) / 4 + 64, 'first returning sample mostly faded');
});

t.test('concealment of silence stays silent and a loss at the start is harmless', async (t) => {
  const audio = new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 20, maxDelayMs: 200 });
  const silent = Buffer.alloc(160, 0xff);
  const out: Buffer[] = [];
  for (let i = 0; i < 30; i++) {
    if (i % 3 !== 1) audio.push(i, i * 160, 1, silent, 1000 + i * 20);
    const f = audio.pull(1010 + i * 20);
    if (f) out.push(f);
  }
  t.ok(
    out.every((f) => f.every((b) => ulawDecode(b) === 0)),
    'no noise invented',
  );
});

for (const f0 of [70, 100, 160, 195]) {
  t.test(`pitch ${f0} Hz is found and continued`, async (t) => {
    const { out } = playWithLoss(40, new Set([25]), f0);
    const from = 25 * 160;
    let dot = 0;
    let ea = 0;
    let eb = 0;
    for (let n = from; n < from + 80; n++) {
      dot += out[n]! * original(n, f0);
      ea += out[n]! ** 2;
      eb += original(n, f0) ** 2;
    }
    const corr = dot / Math.sqrt(ea * eb);
    t.ok(corr > 0.8, `correlation with the lost waveform ${corr.toFixed(3)}`);
  });
}

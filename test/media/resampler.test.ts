// Resampler: chunking invariance (byte-exact), passband flatness and stopband rejection measured
// with sine sweeps (Goertzel on exact DFT bins), group delay, the float entry point (same filter as
// the int16 one, chunking invariance), and argument errors.
import t from 'tap';
import { Resampler } from '../../src/media/resampler.js';
import type { ResamplerRate } from '../../src/media/resampler.js';

const paths: Array<[ResamplerRate, ResamplerRate]> = [
  [8000, 16000],
  [16000, 8000],
  [8000, 24000],
  [24000, 8000],
  [8000, 48000],
  [48000, 8000],
  [16000, 24000],
  [24000, 16000],
];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Chunk lengths summing to n: empty chunks, 1-3 samples, and up to 2500 (process() splits at 1024). */
function randomChunks(n: number, rand: () => number): number[] {
  const lens: number[] = [];
  for (let off = 0; off < n;) {
    const pick = rand();
    const len = Math.min(
      n - off,
      pick < 0.1 ? 0 : pick < 0.3 ? 1 + Math.floor(rand() * 3) : Math.floor(rand() * 2500),
    );
    lens.push(len);
    off += len;
  }
  return lens;
}

function pcm(samples: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i]!, i * 2);
  return b;
}

function samplesOf(b: Buffer): Int16Array {
  const out = new Int16Array(b.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2);
  return out;
}

function tone(freq: number, rate: number, count: number, amp: number): Buffer {
  return pcm(
    Array.from({ length: count }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate))),
  );
}

/** Amplitude of the component at `freq` (an exact bin of the window). */
function goertzel(x: Int16Array, start: number, n: number, freq: number, rate: number): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = x[start + i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  return (2 * Math.sqrt(re * re + im * im)) / n;
}

const fold = (f: number, rate: number): number => {
  const m = Math.abs(f) % rate;
  return m > rate / 2 ? rate - m : m;
};

function edges(inRate: number, outRate: number): { passHz: number; stopHz: number } {
  return inRate === 8000 || outRate === 8000
    ? { passHz: 3400, stopHz: 4600 }
    : { passHz: 7200, stopHz: 8800 };
}

t.test('any chunking gives byte-identical output', async (t) => {
  for (const [inRate, outRate] of paths) {
    const rand = lcg(inRate * 7 + outRate);
    const n = inRate; // 1 s of noise plus a tone
    const input = pcm(
      Array.from({ length: n }, (_, i) => Math.round(9000 * Math.sin(i * 0.07) + (rand() - 0.5) * 20000)),
    );
    const whole = new Resampler(inRate, outRate).process(input);
    t.equal(
      whole.length,
      Math.ceil((n * outRate) / inRate) * 2,
      `${inRate}->${outRate}: ceil(n * out / in) samples`,
    );
    for (let round = 0; round < 3; round++) {
      const r = new Resampler(inRate, outRate);
      const parts: Buffer[] = [];
      let off = 0;
      for (const len of randomChunks(n, rand)) {
        parts.push(r.process(input.subarray(off * 2, (off + len) * 2)));
        off += len;
      }
      t.ok(Buffer.concat(parts).equals(whole), `${inRate}->${outRate} random chunks round ${round}`);
    }
  }
});

t.test('upsampling: chunks of 1..17 samples and odd totals give identical output', async (t) => {
  // The upsamplers compute groups of 8 outputs per branch; these chunk sizes and totals (not
  // multiples of 8, one past an internal 1024-sample block) put every group boundary mid-chunk.
  const ups = paths.filter(([inRate, outRate]) => outRate % inRate === 0);
  for (const [inRate, outRate] of ups) {
    const up = outRate / inRate;
    for (const n of [1, 7, 13, 1025, 3001]) {
      const rand = lcg(n * 31 + outRate);
      const values = Array.from({ length: n }, () => Math.round((rand() - 0.5) * 60000));
      const whole = new Resampler(inRate, outRate).process(pcm(values));
      const wholeFloat = new Resampler(inRate, outRate).processFloat(Float32Array.from(values));
      t.equal(whole.length, n * up * 2, `${inRate}->${outRate} n=${n}: ${n * up} samples`);
      const r = new Resampler(inRate, outRate);
      const rf = new Resampler(inRate, outRate);
      const parts: Buffer[] = [];
      const floats: number[] = [];
      for (let off = 0, k = 1; off < n; off += k, k = (k % 17) + 1) {
        const end = Math.min(n, off + k);
        parts.push(r.process(pcm(values.slice(off, end))));
        floats.push(...rf.processFloat(Float32Array.from(values.slice(off, end))));
      }
      t.ok(Buffer.concat(parts).equals(whole), `${inRate}->${outRate} n=${n}: int16 chunks of 1..17`);
      t.same(Float32Array.from(floats), wholeFloat, `${inRate}->${outRate} n=${n}: float chunks of 1..17`);
    }
  }
});

t.test('passband flat within 0.1 dB and stopband rejection >= 70 dB (sine sweep)', async (t) => {
  const amp = 16000;
  for (const [inRate, outRate] of paths) {
    const { passHz, stopHz } = edges(inRate, outRate);
    const up = outRate / gcd(inRate, outRate);
    // 0.1 s warm-up, then a 0.2 s window: tones at 50k + 15 Hz are exact 5 Hz bins.
    const warm = inRate / 10;
    const win = inRate / 5;
    const winOut = (win * outRate) / inRate;
    let passMin = Infinity;
    let passMax = -Infinity;
    let worstRejection = Infinity;
    let worstAt = '';
    let tones = 0;
    for (let f = 15; f < inRate / 2; f += 100) {
      if (f > passHz && f < stopHz) continue; // transition band
      const out = samplesOf(new Resampler(inRate, outRate).process(tone(f, inRate, warm + win, amp)));
      const start = out.length - winOut;
      const wanted = f <= passHz && f < outRate / 2;
      if (wanted) {
        const gainDb = 20 * Math.log10(goertzel(out, start, winOut, f, outRate) / amp);
        passMin = Math.min(passMin, gainDb);
        passMax = Math.max(passMax, gainDb);
      }
      // Every image (m * inRate +- f, the zero-stuffing images of the L-times prototype) and alias,
      // folded into the output band, other than the wanted tone itself.
      for (let m = 0; m <= up; m++) {
        for (const sign of [-1, 1]) {
          const g = fold(m * inRate + sign * f, outRate);
          if (wanted && Math.abs(g - f) < 1) continue;
          const a = goertzel(out, start, winOut, g, outRate);
          const rejection = 20 * Math.log10(amp / Math.max(a, 1e-9));
          if (rejection < worstRejection) {
            worstRejection = rejection;
            worstAt = `tone ${f} Hz -> ${g} Hz`;
          }
        }
      }
      tones++;
    }
    const name = `${inRate}->${outRate}`;
    t.ok(tones > 10, `${name}: ${tones} tones swept`);
    t.ok(
      passMin >= -0.1 && passMax <= 0.1,
      `${name}: passband ${passMin.toFixed(4)}..${passMax.toFixed(4)} dB`,
    );
    t.ok(
      worstRejection >= 70,
      `${name}: worst image/alias ${worstRejection.toFixed(1)} dB down (${worstAt})`,
    );
  }
});

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

t.test('delaySamples matches the impulse response peak', async (t) => {
  for (const [inRate, outRate] of paths) {
    const r = new Resampler(inRate, outRate);
    const impulse = new Array<number>(inRate / 50).fill(0);
    impulse[0] = 30000;
    // A single input impulse may fall between output instants on downsampling paths; the peak is
    // still within one output sample of the filter's group delay.
    const out = samplesOf(r.process(pcm(impulse)));
    let peak = 0;
    for (let i = 1; i < out.length; i++) if (Math.abs(out[i]!) > Math.abs(out[peak]!)) peak = i;
    t.ok(
      Math.abs(peak - r.delaySamples) <= 1,
      `${inRate}->${outRate}: peak at ${peak}, delay ${r.delaySamples}`,
    );
  }
});

t.test('reset forgets the history', async (t) => {
  const r = new Resampler(8000, 24000);
  const a = tone(440, 8000, 800, 12000);
  const first = r.process(a);
  r.process(tone(1000, 8000, 333, 12000));
  r.reset();
  t.ok(r.process(a).equals(first));
});

t.test('processFloat is process() before int16 rounding and saturation', async (t) => {
  for (const [inRate, outRate] of paths) {
    const rand = lcg(inRate * 3 + outRate);
    const n = inRate / 2;
    // A near full-scale square wave plus noise: the filter's Gibbs overshoot leaves the int16 range,
    // which process() saturates and processFloat() does not.
    const values = Array.from({ length: n }, (_, i) =>
      Math.max(
        -32768,
        Math.min(32767, (Math.floor(i / 20) % 2 ? 32000 : -32000) + Math.round((rand() - 0.5) * 1400)),
      ),
    );
    const ints = samplesOf(new Resampler(inRate, outRate).process(pcm(values)));
    const floats = new Resampler(inRate, outRate).processFloat(Float32Array.from(values));
    t.equal(floats.length, ints.length, `${inRate}->${outRate}: same output length`);
    let worst = 0;
    let beyond = 0;
    for (let i = 0; i < ints.length; i++) {
      const f = floats[i]!;
      const saturated = Math.max(-32768, Math.min(32767, f));
      if (saturated !== f) beyond++;
      worst = Math.max(worst, Math.abs(ints[i]! - saturated));
    }
    t.ok(
      worst <= 0.5,
      `${inRate}->${outRate}: int16 output within rounding of the float output (worst ${worst.toFixed(4)})`,
    );
    t.ok(beyond > 0, `${inRate}->${outRate}: ${beyond} float outputs beyond the int16 range`);
  }
});

t.test('processFloat: any chunking gives identical output', async (t) => {
  for (const [inRate, outRate] of paths) {
    const rand = lcg(inRate * 5 + outRate);
    const n = inRate;
    const input = Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin(i * 0.07) + (rand() - 0.5) * 0.6);
    const whole = new Resampler(inRate, outRate).processFloat(input);
    t.equal(
      whole.length,
      Math.ceil((n * outRate) / inRate),
      `${inRate}->${outRate}: ceil(n * out / in) samples`,
    );
    for (let round = 0; round < 2; round++) {
      const r = new Resampler(inRate, outRate);
      const parts: Float32Array[] = [];
      let off = 0;
      for (const len of randomChunks(n, rand)) {
        parts.push(r.processFloat(input.subarray(off, off + len)));
        off += len;
      }
      const joined = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      t.ok(
        Buffer.from(joined.buffer).equals(Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength)),
        `${inRate}->${outRate} random chunks round ${round}`,
      );
    }
  }
});

t.test('processFloat: one kind of input per stream, argument errors', async (t) => {
  const r = new Resampler(8000, 16000);
  t.equal(r.processFloat(new Float32Array(0)).length, 0, 'empty input, empty output');
  t.equal(r.processFloat(new Float32Array(40)).length, 80);
  t.throws(() => r.process(Buffer.alloc(80)), /cannot share a stream/);
  r.reset();
  t.equal(r.process(Buffer.alloc(80)).length, 160, 'after reset() the stream may be int16');
  t.throws(() => r.processFloat(new Float32Array(40)), /cannot share a stream/);
  r.reset();
  t.throws(() => r.processFloat(new Float64Array(4) as unknown as Float32Array), TypeError);
  t.throws(() => r.processFloat(Buffer.alloc(8) as unknown as Float32Array), TypeError);
});

t.test('supported pairs and argument errors', async (t) => {
  for (const [a, b] of paths) t.ok(Resampler.supports(a, b), `${a}->${b}`);
  t.notOk(Resampler.supports(8000, 8000));
  t.notOk(Resampler.supports(16000, 48000));
  t.notOk(Resampler.supports(NaN, 8000));
  t.throws(() => new Resampler(8000, 11025 as ResamplerRate), RangeError);
  t.throws(() => new Resampler(16000, 48000), /unsupported rate pair 16000 -> 48000/);
  t.throws(() => new Resampler(8000.5 as ResamplerRate, 16000), RangeError);
  t.throws(() => new Resampler('8000' as unknown as ResamplerRate, 16000), TypeError);
  const r = new Resampler(8000, 16000);
  t.throws(() => r.process(Buffer.alloc(3)), RangeError, 'odd byte length');
  t.throws(() => r.process([1, 2] as unknown as Buffer), TypeError);
  t.throws(() => r.process(new Int16Array(2) as unknown as Buffer), TypeError);
  t.equal(r.process(Buffer.alloc(0)).length, 0, 'empty input, empty output');
  const odd = Buffer.alloc(41).subarray(1);
  t.equal(r.process(odd).length, 80, 'unaligned Buffer slice accepted');
});

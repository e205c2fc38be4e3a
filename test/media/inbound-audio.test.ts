// InboundAudio's contract: output frame sizes per API format, zero-transcode when the API takes
// the call's codec, transcoding otherwise, silence after a long loss, and clear errors (never a
// crash) for bad arguments.
import t from 'tap';
import { InboundAudio } from '../../src/media/inbound-audio.js';
import { type AudioFormat, type CallCodec } from '../../src/audio/audio-format.js';
import { nativeFormatName } from '../../src/media/native-audio-format.js';

const tone = (n: number) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * n) / 8000));

// G.711 μ-law / A-law silence and a reference μ-law encoder for the test signal.
const ULAW_ZERO = 0xff;
const ALAW_ZERO = 0xd5;
function ulawEncode(sample: number): number {
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  s += 0x84;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  return ~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0f)) & 0xff;
}

/** Output bytes without the optional 10 ms start-up silence. */
function played(frames: Buffer[], silence: number): Buffer {
  const all = Buffer.concat(frames);
  return all.subarray(0, 80).every((b) => b === silence) ? all.subarray(80) : all;
}

function run(codec: CallCodec, format: AudioFormat, payloads: (i: number) => Buffer | null, n: number) {
  const audio = new InboundAudio(codec, format, { minDelayMs: 20, maxDelayMs: 100 });
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const p = payloads(i);
    if (p) audio.push(i, i * 160, 9, p, 1000 + i * 20);
    const f = audio.pull(1010 + i * 20);
    if (f) frames.push(f);
  }
  return { audio, frames };
}

const ulawTone = (i: number) =>
  Buffer.from(Array.from({ length: 160 }, (_, k) => ulawEncode(tone(i * 160 + k))));

t.test('frame size per API format', async (t) => {
  const cases: [CallCodec, AudioFormat, number][] = [
    ['PCMU', { encoding: 'pcmu' }, 160],
    ['PCMA', { encoding: 'pcma' }, 160],
    ['PCMU', { encoding: 'pcma' }, 160],
    ['PCMA', { encoding: 'pcmu' }, 160],
    ['PCMU', { encoding: 'pcm', sampleRate: 16000 }, 640],
    ['PCMA', { encoding: 'pcm', sampleRate: 24000 }, 960],
  ];
  for (const [codec, format, bytes] of cases) {
    const { audio, frames } = run(
      codec,
      format,
      () => Buffer.alloc(160, codec === 'PCMU' ? ULAW_ZERO : ALAW_ZERO),
      20,
    );
    t.equal(audio.frameBytes, bytes, `${codec} -> ${nativeFormatName(format)}: frameBytes`);
    t.ok(
      frames.length >= 18,
      `${codec} -> ${nativeFormatName(format)}: a frame per pull once started (${frames.length})`,
    );
    t.ok(
      frames.every((f) => f.length === bytes),
      `${codec} -> ${nativeFormatName(format)}: every frame ${bytes} bytes`,
    );
  }
});

t.test('zero-transcode when the API takes the call codec; G.711 law conversion otherwise', async (t) => {
  const u = run('PCMU', { encoding: 'pcmu' }, ulawTone, 30);
  const input = Buffer.concat(Array.from({ length: 30 }, (_, i) => ulawTone(i)));
  const output = played(u.frames, ULAW_ZERO);
  t.ok(output.equals(input.subarray(0, output.length)), 'PCMU -> pcmu byte for byte');
  const aIn = (i: number) => Buffer.alloc(160, ((i * 7) & 0x7f) | 0x80);
  const a = run('PCMA', { encoding: 'pcma' }, aIn, 30);
  t.ok(
    played(a.frames, ALAW_ZERO).equals(
      Buffer.concat(Array.from({ length: a.frames.length }, (_, i) => aIn(i))).subarray(
        0,
        played(a.frames, ALAW_ZERO).length,
      ),
    ),
    'PCMA -> pcma byte for byte',
  );
  const conv = run('PCMA', { encoding: 'pcmu' }, () => Buffer.alloc(160, ALAW_ZERO), 10);
  t.ok(
    // A-law 0xD5 decodes to +8, which μ-law codes as 0xFE (±8 is 0xFE / 0x7E).
    conv.frames.length > 0 && played(conv.frames, ULAW_ZERO).every((b) => b === 0xfe),
    'A-law silence becomes μ-law near-silence',
  );
});

t.test('PCM output carries the tone at the API rate', async (t) => {
  for (const rate of [16000, 24000] as const) {
    const format: AudioFormat = { encoding: 'pcm', sampleRate: rate };
    const { frames } = run('PCMU', format, ulawTone, 40);
    const pcm = Buffer.concat(frames.slice(5));
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    // Zero crossings of a 1 kHz tone: 2000 per second.
    let crossings = 0;
    for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
    const perSecond = (crossings * rate) / samples.length;
    t.ok(
      Math.abs(perSecond - 2000) < 100,
      `${nativeFormatName(format)}: 1 kHz tone (${perSecond.toFixed(0)} crossings/s)`,
    );
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    t.ok(peak > 6000 && peak < 9500, `${nativeFormatName(format)}: level kept (peak ${peak})`);
  }
});

t.test('silence after a long loss; concealed frames are re-encoded', async (t) => {
  const { audio, frames } = run('PCMU', { encoding: 'pcmu' }, (i) => (i < 10 ? ulawTone(i) : null), 40);
  const tail = frames.slice(-20);
  t.ok(
    tail.every((f) => f.every((b) => b === ULAW_ZERO)),
    'μ-law silence once the loss passed 60 ms',
  );
  // 60 ms of audible concealment: 3 frames, or 4 when frames straddle packets.
  t.ok(audio.stats().concealed >= 3 && audio.stats().concealed <= 4, `${audio.stats().concealed} concealed`);
  const pcm = run(
    'PCMA',
    { encoding: 'pcm', sampleRate: 16000 },
    (i) => (i < 10 ? Buffer.alloc(160, 0xaa) : null),
    40,
  );
  const last = pcm.frames.at(-1)!;
  t.ok(
    last.every((b) => b === 0),
    'PCM silence',
  );
});

t.test('bad arguments: TypeError / RangeError with a message, never a crash', async (t) => {
  const bad = (fn: () => unknown, type: typeof TypeError | typeof RangeError, re: RegExp, msg: string) =>
    t.throws(fn, { constructor: type, message: re }, msg);
  bad(
    () => new InboundAudio('G729' as CallCodec, { encoding: 'pcmu' }),
    RangeError,
    /callCodec/,
    'unknown codec',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'opus' } as unknown as AudioFormat),
    RangeError,
    /encoding/,
    'unknown format',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'pcm', sampleRate: 8000 } as unknown as AudioFormat),
    RangeError,
    /sampleRate/,
    'unsupported PCM rate',
  );
  bad(
    () => new InboundAudio('PCMU', 'pcmu' as unknown as AudioFormat),
    TypeError,
    /format/,
    'format not an object',
  );
  bad(
    () => new InboundAudio(1 as unknown as CallCodec, { encoding: 'pcmu' }),
    TypeError,
    /callCodec/,
    'codec not a string',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 50, maxDelayMs: 20 }),
    RangeError,
    /minDelayMs/,
    'min > max',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: -1, maxDelayMs: 20 }),
    RangeError,
    /minDelayMs/,
    'min < 0',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 0, maxDelayMs: 5000 }),
    RangeError,
    /maxDelayMs/,
    'max > 1000',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 0, maxDelayMs: 2.5 }),
    RangeError,
    /maxDelayMs/,
    'fraction',
  );
  for (const lateCostMs of [0, -3, Number.NaN, Infinity, 1001]) {
    bad(
      () => new InboundAudio('PCMU', { encoding: 'pcmu' }, { minDelayMs: 0, maxDelayMs: 200, lateCostMs }),
      RangeError,
      /lateCostMs/,
      `lateCostMs ${lateCostMs}`,
    );
  }
  bad(
    () =>
      new InboundAudio(
        'PCMU',
        { encoding: 'pcmu' },
        {
          minDelayMs: 0,
          maxDelayMs: 200,
          lateCostMs: '9' as unknown as number,
        },
      ),
    TypeError,
    /lateCostMs/,
    'lateCostMs not a number',
  );
  bad(
    () => new InboundAudio('PCMU', { encoding: 'pcmu' }, null as unknown as { minDelayMs: 0; maxDelayMs: 0 }),
    TypeError,
    /delay/,
    'null',
  );

  const audio = new InboundAudio('PCMU', { encoding: 'pcmu' });
  const p = Buffer.alloc(160, ULAW_ZERO);
  bad(() => audio.push(65536, 0, 0, p, 0), RangeError, /seq/, 'seq > 65535');
  bad(() => audio.push(-1, 0, 0, p, 0), RangeError, /seq/, 'negative seq');
  bad(() => audio.push(1.5, 0, 0, p, 0), RangeError, /seq/, 'fractional seq');
  bad(() => audio.push(1, 2 ** 32, 0, p, 0), RangeError, /ts/, 'ts >= 2^32');
  bad(() => audio.push(1, 0, -5, p, 0), RangeError, /ssrc/, 'negative ssrc');
  bad(() => audio.push(1, 0, 0, 'abc' as unknown as Buffer, 0), TypeError, /payload/, 'string payload');
  bad(
    () => audio.push(1, 0, 0, new Int16Array(4) as unknown as Buffer, 0),
    TypeError,
    /payload/,
    'Int16Array',
  );
  bad(() => audio.push(1, 0, 0, p, Number.NaN), RangeError, /arrivalMs/, 'NaN arrival');
  bad(() => audio.push('1' as unknown as number, 0, 0, p, 0), TypeError, /seq/, 'string seq');
  bad(() => audio.pull(Number.POSITIVE_INFINITY), RangeError, /nowMs/, 'infinite now');
  bad(() => audio.pull(undefined as unknown as number), TypeError, /nowMs/, 'missing now');
  t.equal(
    audio.push(1, 0, 0, Buffer.alloc(5000), 0),
    'invalid',
    'a payload over 120 ms is invalid, not thrown',
  );
  t.equal(audio.push(2, 160, 0, new Uint8Array(160).fill(ULAW_ZERO), 20), 'accepted', 'Uint8Array accepted');
  t.equal(audio.stats().received, 1);
});

// Format conversion for the local agent only (a test double): G.711 by the segment method of
// Sun's g711.c / ITU-T G.191 (G.711 tables 1a/2a) and linear-interpolation resampling. The call path
// converts in the native core instead; nothing outside local-agent/ may import this.
import { sampleRateOf, sameFormat, type AudioFormat } from '../../audio/audio-format.js';

const ulawDecodeTable = new Int16Array(256);
const alawDecodeTable = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  const u = ~code & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  ulawDecodeTable[code] = u & 0x80 ? 0x84 - t : t - 0x84;

  const a = code ^ 0x55;
  let m = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) m += 8;
  else if (seg === 1) m += 0x108;
  else m = (m + 0x108) << (seg - 1);
  alawDecodeTable[code] = a & 0x80 ? m : -m;
}

const ulawSegEnds = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const alawSegEnds = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segmentOf(value: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) if (value <= ends[i]!) return i;
  return ends.length;
}

export function linearToUlaw(sample: number): number {
  // Negative input by one's complement, as the ITU-T G.191 reference does (-1 → 0x7f).
  const mask = sample < 0 ? 0x7f : 0xff;
  const v = Math.min((sample < 0 ? ~sample : sample) >> 2, 8159) + 0x21;
  const seg = segmentOf(v, ulawSegEnds);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

export function linearToAlaw(sample: number): number {
  let v = sample >> 3;
  let mask = 0xd5;
  if (v < 0) {
    mask = 0x55;
    v = -v - 1;
  }
  const seg = segmentOf(v, alawSegEnds);
  if (seg >= 8) return 0x7f ^ mask;
  const mantissa = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | mantissa) ^ mask;
}

/** Wire bytes → 16-bit samples at the format's rate. */
export function decodeToLinear(bytes: Buffer, format: AudioFormat): Int16Array {
  const out = new Int16Array(linearSamplesOf(bytes, format));
  decodeIntoLinear(bytes, format, out);
  return out;
}

export function linearSamplesOf(bytes: Buffer, format: AudioFormat): number {
  return format.encoding === 'pcm' ? bytes.length >> 1 : bytes.length;
}

/** decodeToLinear into `out` (at least linearSamplesOf long); returns the sample count. */
export function decodeIntoLinear(bytes: Buffer, format: AudioFormat, out: Int16Array): number {
  const samples = linearSamplesOf(bytes, format);
  if (format.encoding === 'pcm') {
    for (let i = 0; i < samples; i++) out[i] = bytes.readInt16LE(i * 2);
    return samples;
  }
  const table = format.encoding === 'pcmu' ? ulawDecodeTable : alawDecodeTable;
  for (let i = 0; i < samples; i++) out[i] = table[bytes[i]!]!;
  return samples;
}

/** 16-bit samples → wire bytes. */
export function encodeLinear(samples: Int16Array, format: AudioFormat): Buffer {
  if (format.encoding === 'pcm') {
    const out = Buffer.alloc(samples.length * 2);
    for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, i * 2);
    return out;
  }
  const encode = format.encoding === 'pcmu' ? linearToUlaw : linearToAlaw;
  const out = Buffer.alloc(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = encode(samples[i]!);
  return out;
}

/** Linear interpolation; fine for a test double, audibly poor for a product path. */
export function resampleLinear(samples: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const outLength = Math.round((samples.length * toRate) / fromRate);
  const out = new Int16Array(outLength);
  const step = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const pos = i * step;
    const i0 = Math.floor(pos);
    const s0 = samples[Math.min(i0, samples.length - 1)]!;
    const s1 = samples[Math.min(i0 + 1, samples.length - 1)]!;
    out[i] = Math.round(s0 + (s1 - s0) * (pos - i0));
  }
  return out;
}

/** Converts a whole utterance; identical formats pass through byte for byte. */
export function transcode(bytes: Buffer, from: AudioFormat, to: AudioFormat): Buffer {
  if (sameFormat(from, to)) return bytes;
  const linear = resampleLinear(decodeToLinear(bytes, from), sampleRateOf(from), sampleRateOf(to));
  return encodeLinear(linear, to);
}

/** A sine tone in the given format: what the agent "says" when there is nothing to echo. */
export function toneIn(format: AudioFormat, durationMs: number, frequencyHz = 440, amplitude = 8000): Buffer {
  const rate = sampleRateOf(format);
  const samples = new Int16Array(Math.round((durationMs * rate) / 1000));
  for (let i = 0; i < samples.length; i++) {
    samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / rate));
  }
  return encodeLinear(samples, format);
}

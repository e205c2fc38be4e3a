// G.711 against an independent formulation: the segment/interval tables of ITU-T G.711 (Table 1a
// A-law, Table 2a mu-law) searched interval by interval, with the G.191 STL convention that a
// negative 16-bit sample x is quantised by the magnitude -1 - x (one's complement).
import t from 'tap';
import {
  alawToUlaw,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  ulawToAlaw,
} from '../../src/media/g711.js';

// mu-law on the 14-bit magnitude scale (sample >> 2): segment s spans [start, start + 16 * step).
// Segment 0's first interval is [0, 1) (decision values 1, 3, ..., 29, 31); the top is 8159.
const ulawSegments = [
  { start: -1, step: 2 },
  { start: 31, step: 4 },
  { start: 95, step: 8 },
  { start: 223, step: 16 },
  { start: 479, step: 32 },
  { start: 991, step: 64 },
  { start: 2015, step: 128 },
  { start: 4063, step: 256 },
];
// A-law on the 12-bit magnitude scale (sample >> 4): two linear segments of step 1, then doubling.
const alawSegments = [
  { start: 0, step: 1 },
  { start: 16, step: 1 },
  { start: 32, step: 2 },
  { start: 64, step: 4 },
  { start: 128, step: 8 },
  { start: 256, step: 16 },
  { start: 512, step: 32 },
  { start: 1024, step: 64 },
];

type Segment = { start: number; step: number };

/** Segment and interval whose range holds the magnitude; clipped to the last interval. */
function quantise(segments: Segment[], magnitude: number): { segment: number; interval: number } {
  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s]!;
    const end = seg.start + 16 * seg.step;
    if (magnitude < end) {
      return { segment: s, interval: Math.floor((Math.max(magnitude, seg.start) - seg.start) / seg.step) };
    }
  }
  return { segment: 7, interval: 15 };
}

/** Decoder output: the middle of the interval (G.711 "value at decoder output"), segment 0 of mu-law starts at 0. */
function reconstruct(segments: Segment[], segment: number, interval: number): number {
  const seg = segments[segment]!;
  if (segments === ulawSegments && segment === 0) return interval * 2;
  return seg.start + interval * seg.step + seg.step / 2;
}

function refUlawEncode(x: number): number {
  const negative = x < 0;
  const magnitude = (negative ? -1 - x : x) >> 2;
  const { segment, interval } = quantise(ulawSegments, magnitude);
  // G.711 Table 2a: sign bit 1 for positive; the 7 magnitude bits are inverted for transmission.
  return (negative ? 0 : 0x80) | (~((segment << 4) | interval) & 0x7f);
}

function refUlawDecode(code: number): number {
  const character = ~code & 0xff;
  const magnitude = reconstruct(ulawSegments, (character >> 4) & 7, character & 15) * 4;
  return code & 0x80 ? magnitude : -magnitude;
}

function refAlawEncode(x: number): number {
  const negative = x < 0;
  const magnitude = (negative ? -1 - x : x) >> 4;
  const { segment, interval } = quantise(alawSegments, magnitude);
  // G.711 Table 1a: sign bit 1 for positive; even bits inverted for transmission (XOR 0x55).
  return ((negative ? 0 : 0x80) | (segment << 4) | interval) ^ 0x55;
}

function refAlawDecode(code: number): number {
  const character = code ^ 0x55;
  const magnitude = reconstruct(alawSegments, (character >> 4) & 7, character & 15) * 16;
  return character & 0x80 ? magnitude : -magnitude;
}

const allSamples = Buffer.alloc(65536 * 2);
for (let i = 0; i < 65536; i++) allSamples.writeInt16LE(i - 32768, i * 2);
const allCodes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function firstMismatch(
  actual: (i: number) => number,
  expected: (i: number) => number,
  count: number,
): string {
  for (let i = 0; i < count; i++) {
    if (actual(i) !== expected(i)) return `index ${i}: got ${actual(i)}, expected ${expected(i)}`;
  }
  return 'none';
}

t.test('reference formulation sanity (G.711 table entries)', async (t) => {
  t.equal(refUlawEncode(0), 0xff, 'mu-law 0 -> 0xFF');
  t.equal(refAlawEncode(0), 0xd5, 'A-law 0 -> 0xD5');
  t.equal(refUlawEncode(32767), 0x80, 'mu-law positive full scale');
  t.equal(refUlawEncode(-32768), 0x00, 'mu-law negative full scale');
  t.equal(refAlawEncode(32767), 0xaa, 'A-law positive full scale');
  t.equal(refAlawEncode(-32768), 0x2a, 'A-law negative full scale');
  t.equal(refUlawDecode(0x80), 32124, 'mu-law max reconstruction 8031 * 4');
  t.equal(refAlawDecode(0xaa), 32256, 'A-law max reconstruction 2016 * 16');
});

t.test('mu-law encode: all 65536 inputs match the G.711 table search', async (t) => {
  const codes = encodeUlaw(allSamples);
  t.equal(codes.length, 65536);
  t.equal(
    firstMismatch(
      (i) => codes[i]!,
      (i) => refUlawEncode(i - 32768),
      65536,
    ),
    'none',
  );
});

t.test('A-law encode: all 65536 inputs match the G.711 table search', async (t) => {
  const codes = encodeAlaw(allSamples);
  t.equal(
    firstMismatch(
      (i) => codes[i]!,
      (i) => refAlawEncode(i - 32768),
      65536,
    ),
    'none',
  );
});

t.test('decode: all 256 codes match the interval midpoints', async (t) => {
  const u = decodeUlaw(allCodes);
  const a = decodeAlaw(allCodes);
  t.equal(u.length, 512);
  t.equal(
    firstMismatch((i) => u.readInt16LE(i * 2), refUlawDecode, 256),
    'none',
    'mu-law',
  );
  t.equal(
    firstMismatch((i) => a.readInt16LE(i * 2), refAlawDecode, 256),
    'none',
    'A-law',
  );
});

t.test('encode(decode(code)) is the identity (except mu-law negative zero 0x7F -> 0xFF)', async (t) => {
  const u = encodeUlaw(decodeUlaw(allCodes));
  const a = encodeAlaw(decodeAlaw(allCodes));
  t.equal(
    firstMismatch(
      (i) => u[i]!,
      (i) => (i === 0x7f ? 0xff : i),
      256,
    ),
    'none',
  );
  t.equal(
    firstMismatch(
      (i) => a[i]!,
      (i) => i,
      256,
    ),
    'none',
  );
});

t.test('transcoding matches decode -> encode of the other law for all 256 codes', async (t) => {
  const a2u = alawToUlaw(allCodes);
  const u2a = ulawToAlaw(allCodes);
  t.equal(
    firstMismatch(
      (i) => a2u[i]!,
      (i) => refUlawEncode(refAlawDecode(i)),
      256,
    ),
    'none',
    'A -> mu',
  );
  t.equal(
    firstMismatch(
      (i) => u2a[i]!,
      (i) => refAlawEncode(refUlawDecode(i)),
      256,
    ),
    'none',
    'mu -> A',
  );
  // Not G.711 Tables 3/4 themselves: the nearest-interval mapping loses 16 codes on a round trip each way.
  const lostA = [...allCodes].filter((c) => ulawToAlaw(alawToUlaw(Buffer.from([c])))[0] !== c).length;
  const lostU = [...allCodes].filter((c) => alawToUlaw(ulawToAlaw(Buffer.from([c])))[0] !== c).length;
  t.equal(lostA, 16, 'A -> mu -> A changes 16 codes');
  t.equal(lostU, 16, 'mu -> A -> mu changes 16 codes');
});

t.test('unaligned and empty buffers', async (t) => {
  const backing = Buffer.alloc(2001);
  const odd = backing.subarray(1); // starts at an odd address
  for (let i = 0; i < 1000; i++) odd.writeInt16LE(((i * 977) % 65536) - 32768, i * 2);
  t.same(encodeUlaw(odd), encodeUlaw(Buffer.from(odd)), 'odd byteOffset gives the same codes');
  t.equal(encodeUlaw(Buffer.alloc(0)).length, 0);
  t.equal(decodeAlaw(Buffer.alloc(0)).length, 0);
  t.equal(alawToUlaw(new Uint8Array(3)).length, 3, 'plain Uint8Array accepted');
});

t.test('bad arguments throw TypeError / RangeError', async (t) => {
  t.throws(() => encodeUlaw(Buffer.alloc(3)), RangeError, 'odd PCM byte length');
  t.throws(() => encodeAlaw(Buffer.alloc(1)), /even byte length/);
  t.throws(() => encodeUlaw('abc' as unknown as Buffer), TypeError);
  t.throws(() => decodeUlaw(new Int16Array(4) as unknown as Buffer), TypeError, 'Int16Array is not bytes');
  t.throws(() => decodeAlaw(undefined as unknown as Buffer), TypeError);
  t.throws(() => ulawToAlaw(42 as unknown as Buffer), TypeError);
});

#!/usr/bin/env node
// Writes the committed seed corpus (native/fuzz/corpus/<target>/): a few small, valid inputs per
// target, spelled in the target's own grammar (the FuzzedDataProvider calls its .cc file makes,
// in order) so fuzzing starts from calls, streams and formats a real call produces. Any bytes are
// a valid input, so a grammar change only makes these seeds less apt; rerun after one:
//   node native/fuzz/seeds.mjs
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const corpusDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'corpus');

// Mirrors FuzzedDataProvider: integers are read from the end of the data, most significant byte
// first, as many bytes as the range (max - min) needs; ConsumeBytes / ConsumeData read the front.
class Input {
  front = [];
  back = []; // in consumption order
  int(value, min, max) {
    const range = BigInt(max) - BigInt(min);
    const r = BigInt(value) - BigInt(min);
    if (r < 0n || r > range) throw new RangeError(`${value} outside [${min}, ${max}]`);
    let n = 0;
    while (range >> BigInt(8 * n) > 0n) n++;
    for (let i = n - 1; i >= 0; i--) this.back.push(Number((r >> BigInt(8 * i)) & 0xffn));
    return this;
  }
  u8(v) {
    return this.int(v, 0, 0xff);
  }
  u16(v) {
    return this.int(v, 0, 0xffff);
  }
  u32(v) {
    return this.int(v, 0, 0xffffffff);
  }
  i32(v) {
    return this.int(v, -0x80000000, 0x7fffffff);
  }
  bool(v) {
    return this.u8(v ? 1 : 0);
  }
  bytes(b) {
    this.front.push(...b);
    return this;
  }
  build() {
    return Buffer.from([...this.front, ...[...this.back].reverse()]);
  }
}

rmSync(corpusDir, { recursive: true, force: true }); // no stale seeds from an older grammar
const write = (target, name, input) => {
  const dir = path.join(corpusDir, target);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), input.build());
};

// ---- rtp_script.h (jitter_buffer, inbound_audio) ----

// run_rtp_script's opening: clock, first seq / ts / ssrc, then ops. Tracks how many packets are held.
class Script {
  held = 0;
  constructor(input, { clock = 1000, seq = 1000, ts = 160000, ssrc = 0x1234 } = {}) {
    this.in = input;
    input
      .int(clock, 0, 2 ** 30)
      .u8(0)
      .u16(seq)
      .u32(ts)
      .u32(ssrc);
  }
  op(n) {
    this.in.int(n, 0, 12);
    return this;
  }
  // The sender's next packet: ptime index 0..5 (10..120 ms) or 7 (same size), gap in ms.
  packet({ ptime = 1, shape = 0, lost = 0, gapMs = 20, hold = false } = {}) {
    const f = ptime | (lost ? 0x08 : 0) | (hold ? 0x30 : 0);
    this.op(0).in.u8(f).u8(shape);
    if (lost) this.in.int(lost, 1, 64);
    this.in.int(gapMs * 4, 0, 200);
    if (hold) this.held++;
    return this;
  }
  release() {
    this.op(3);
    if (this.held > 0) this.in.int(0, 0, this.held - 1);
    if (this.held > 0) this.held--;
    return this;
  }
  restart({ ssrc, seq, ts } = {}) {
    const f = (ssrc !== undefined ? 1 : 0) | (seq !== undefined ? 2 : 0) | (ts !== undefined ? 4 : 0);
    this.op(5).in.u8(f);
    if (ssrc !== undefined) this.in.u32(ssrc);
    if (seq !== undefined) this.in.u16(seq);
    if (ts !== undefined) this.in.u32(ts);
    return this;
  }
  event() {
    return this.op(6);
  }
  tick(advanceMs = 20, lagMs = 0) {
    this.op(7)
      .in.int(advanceMs * 4, 0, 160)
      .int(lagMs * 4, 0, 80);
    return this;
  }
  steady(k, { jitterMs = 0, loss = 0, seed = 1 } = {}) {
    this.op(8)
      .in.int(k, 1, 64)
      .int(jitterMs * 4, 0, 800)
      .u8(loss)
      .u32(seed);
    return this;
  }
  pause(ms) {
    this.op(9).in.int(ms, 0, 2 ** 22);
    return this;
  }
  check() {
    return this.op(11);
  }
}

// Shared by both receivers: the same call shapes.
const rtpSeeds = {
  'clean-20ms': (s) => s.steady(50).steady(50, { jitterMs: 2, seed: 7 }).check(),
  'jitter-and-loss': (s) =>
    s.steady(64, { jitterMs: 60, loss: 25, seed: 3 }).steady(64, { jitterMs: 10, seed: 4 }).check(),
  'reorder-duplicate': (s) => {
    s.packet().tick().packet().tick().packet({ hold: true }).packet().tick(10).release().tick(10);
    s.release().packet({ lost: 3 }).tick().tick().packet().packet().tick().tick(20, 5);
    return s.steady(20).check();
  },
  'ssrc-change-dtmf-wrap': (s) =>
    s
      .steady(20)
      .event()
      .event()
      .steady(10)
      .restart({ ssrc: 0xbeef })
      .steady(20, { jitterMs: 5 })
      .restart({ seq: 7, ts: 12345 })
      .steady(20)
      .check(),
  '30ms-ptime-pause': (s) =>
    s.packet({ ptime: 2, gapMs: 30 }).steady(30, { jitterMs: 5 }).pause(5000).steady(30).check(),
};
const wrapStart = { seq: 65530, ts: 0xffffff00 };

const jitterConfig = (input, min = 20, max = 200) =>
  input.int(1, 0, 15).int(min, 0, 1000).int(max, min, 1000).bool(0);
for (const [name, body] of Object.entries(rtpSeeds)) {
  const input = new Input();
  jitterConfig(input);
  body(new Script(input, name.includes('wrap') ? wrapStart : {}));
  write('jitter_buffer', name, input);
}

// InboundAudio: codec (1 = PCMU), API format (0 pcmu, 1 pcma, 2 pcm16k, 3 pcm24k), delays.
const inboundConfig = (input, pcmu, format) =>
  input.bool(pcmu).int(format, 0, 3).int(20, 0, 1000).int(200, 20, 1000).bool(0);
const formats = ['pcmu', 'pcma', 'pcm16k', 'pcm24k'];
const otherFormat = {
  'jitter-and-loss': 2,
  'reorder-duplicate': 1,
  'ssrc-change-dtmf-wrap': 3,
  '30ms-ptime-pause': 0,
};
for (const [name, body] of Object.entries(rtpSeeds)) {
  const variants = name === 'clean-20ms' ? [0, 1, 2, 3] : [otherFormat[name]];
  for (const format of variants) {
    const input = new Input();
    inboundConfig(input, format !== 1, format);
    body(new Script(input, name.includes('wrap') ? wrapStart : {}));
    write('inbound_audio', `${name}-${formats[format]}`, input);
  }
}

// ---- fuzz_outbound_audio.cc ----
// api: 0 pcmu, 1 pcma, 2 pcm; rate index into 8000/16000/24000/48000; codec: PCMU when pcmu.
const outboundConfig = (input, api, rateIndex, pcmu, maxQueueMs) =>
  input.int(api, 0, 2).int(rateIndex, 0, 3).bool(pcmu).int(1, 0, 31).int(maxQueueMs, 20, 2000);
const ob = {
  op: (input, n) => input.int(n, 0, 7),
  push: (input, bytes) => ob.op(input, 0).int(bytes.length, 0, 4096).bytes(bytes),
  gen: (input, n, kind, period = 16, seed = 1) =>
    ob.op(input, 2).int(n, 0, 65536).int(kind, 0, 3).int(period, 1, 256).u32(seed),
  pulls: (input, k) => ob.op(input, 3).int(k, 1, 64),
  flush: (input) => ob.op(input, 4),
  clear: (input) => ob.op(input, 5),
};
const tone = (n) =>
  Array.from({ length: n }, (_, i) => [0xff, 0xb0, 0xa0, 0x98, 0x7f, 0x30, 0x20, 0x18][i % 8]);
const pcmTone = (samples) =>
  Array.from({ length: samples }, (_, i) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)),
  ).flatMap((v) => [v & 0xff, (v >> 8) & 0xff]);
{
  const input = outboundConfig(new Input(), 2, 2, true, 1000);
  ob.gen(input, 9600, 1, 30);
  ob.pulls(input, 5);
  ob.flush(input);
  ob.pulls(input, 64);
  write('outbound_audio', 'pcm24k-to-pcmu', input);
}
{
  const input = outboundConfig(new Input(), 0, 0, true, 200);
  ob.push(input, tone(400));
  ob.pulls(input, 2);
  ob.clear(input);
  ob.push(input, tone(163));
  ob.flush(input);
  ob.pulls(input, 3);
  write('outbound_audio', 'pcmu-passthrough-clear', input);
}
{
  const input = outboundConfig(new Input(), 1, 0, true, 20);
  ob.gen(input, 2000, 3);
  ob.op(input, 7);
  ob.flush(input);
  ob.pulls(input, 2);
  write('outbound_audio', 'pcma-to-pcmu-overflow', input);
}
{
  const input = outboundConfig(new Input(), 2, 0, false, 100);
  const pcm = pcmTone(170);
  ob.push(input, pcm.slice(0, 1));
  ob.push(input, pcm.slice(1, 4));
  ob.push(input, pcm.slice(4, 6));
  ob.push(input, pcm.slice(6));
  ob.flush(input);
  ob.pulls(input, 4);
  write('outbound_audio', 'pcm8k-odd-splits', input);
}
{
  const input = outboundConfig(new Input(), 2, 1, false, 500);
  ob.gen(input, 6400, 3);
  ob.pulls(input, 3);
  ob.clear(input);
  ob.gen(input, 640, 1, 8);
  ob.flush(input);
  ob.pulls(input, 10);
  ob.op(input, 6);
  outboundConfig(input, 2, 3, true, 300);
  ob.gen(input, 3840, 1, 50);
  ob.flush(input);
  ob.pulls(input, 8);
  write('outbound_audio', 'pcm16k-bargein-then-pcm48k', input);
}

// ---- fuzz_g711.cc: pieces of (as samples?, length, bytes) ----
const le16 = (values) => values.flatMap((v) => [v & 0xff, (v >> 8) & 0xff]);
{
  const input = new Input();
  input
    .bool(0)
    .int(256, 0, 4096)
    .bytes(Array.from({ length: 256 }, (_, i) => i));
  write('g711', 'all-codes', input);
}
{
  // Zero, -1, full scale, and the segment edges of both laws (in 16-bit left-justified terms).
  const edges = [0, -1, 1, -2, 32767, -32768, -32767, 32635, 32636, -32636, 128, 131, 132, 256, 4095, 4096];
  const all = edges.flatMap((v) => [v, -1 - v]);
  const input = new Input();
  input.bool(1).int(all.length, 0, 4096).bytes(le16(all));
  write('g711', 'edge-samples', input);
}
{
  const input = new Input();
  input.bool(1).int(80, 0, 4096).bytes(pcmTone(80));
  input.bool(0).int(33, 0, 4096).bytes(tone(33));
  input.bool(1).int(1, 0, 4096).bytes([0x00, 0x80]);
  write('g711', 'mixed-pieces', input);
}

// ---- fuzz_resampler.cc ----
// pairs: 0 8->16, 1 16->8, 2 8->24, 3 24->8, 4 8->48, 5 48->8, 6 16->24, 7 24->16 kHz.
const rs = {
  start: (a, b, pair) => new Input().i32(a).i32(b).int(pair, 0, 7),
  op: (input, n) => input.int(n, 0, 6),
  samples: (input, bytes) =>
    rs
      .op(input, 0)
      .int(bytes.length / 2, 0, 2048)
      .bytes(bytes),
  gen: (input, n, kind, period = 8, seed = 1) =>
    input.int(n, 0, 4096).int(kind, 0, 3).int(period, 1, 64).u32(seed),
  floats: (input, values) =>
    rs
      .op(input, 3)
      .int(values.length, 0, 1024)
      .bytes([...new Uint8Array(Float32Array.from(values).buffer)]),
  genFloat: (input, exponent, ...gen) => rs.gen(rs.op(input, 4).int(exponent, -60, 112), ...gen),
  reset: (input) => rs.op(input, 5),
  rate: (input, pair) => rs.op(input, 6).int(pair, 0, 7),
};
{
  const input = rs.start(8000, 16000, 0);
  rs.samples(input, pcmTone(160));
  rs.samples(input, pcmTone(160));
  rs.gen(rs.op(input, 2), 3000, 1, 10);
  rs.reset(input);
  rs.floats(
    input,
    Array.from({ length: 80 }, (_, i) => Math.sin(i / 3)),
  );
  rs.genFloat(input, 0, 500, 3);
  write('resampler', '8k-16k-voice-then-float', input);
}
{
  const input = rs.start(24000, 8000, 3);
  rs.gen(rs.op(input, 2), 4096, 3);
  rs.samples(input, pcmTone(1));
  rs.samples(input, pcmTone(7));
  rs.rate(input, 6);
  rs.gen(rs.op(input, 2), 2048, 1, 3);
  write('resampler', '24k-8k-chunks-then-16k-24k', input);
}
{
  const input = rs.start(48000, 8000, 5);
  rs.genFloat(input, 100, 1000, 1, 2);
  rs.genFloat(input, -40, 1000, 3);
  rs.rate(input, 4);
  rs.samples(input, pcmTone(100));
  write('resampler', '48k-8k-float-scales-then-8k-48k', input);
}
{
  const input = rs.start(16000, 24000, 7);
  rs.gen(rs.op(input, 2), 1500, 1, 1);
  rs.rate(input, 2);
  rs.gen(rs.op(input, 2), 1024, 2, 1, 0x7fff);
  rs.rate(input, 1);
  rs.samples(input, pcmTone(321));
  write('resampler', '24k-16k-nyquist-8k-24k-dc-16k-8k', input);
}

// ---- fuzz_srtp.cc ----
// Opening: suite (bool: _32), MKI length 0-4 and its bytes, lifetime (bool, then 1-64); then steps
// (0 random RTP, 1 random RTCP, 2 RTP round trip, 3 RTCP round trip, 4 flip a bit of the last).
const srtp = {
  start(input, short, mki, lifetime) {
    input.bool(short).int(mki.length, 0, 4);
    for (const b of mki) input.u8(b);
    input.bool(lifetime !== undefined);
    if (lifetime !== undefined) input.int(lifetime, 1, 64);
    return input;
  },
  rtp(input, seq, ssrc, payloadBytes, { cc = 0, extWords } = {}) {
    input
      .int(2, 0, 4)
      .int(cc, 0, 15)
      .bool(extWords !== undefined);
    if (extWords !== undefined) input.int(extWords, 0, 8);
    input.u8(0).u16(seq).int(ssrc, 0, 20).int(payloadBytes, 0, 300);
    input.bytes(Array.from({ length: payloadBytes }, (_, i) => (i * 37 + seq) & 0xff));
    return 12 + 4 * cc + (extWords === undefined ? 0 : 4 + 4 * extWords) + payloadBytes;
  },
  rtcp(input, ssrc, restBytes) {
    input.int(3, 0, 4).int(1, 0, 31).u8(201).int(ssrc, 0, 20).int(restBytes, 0, 200);
    input.bytes(Array.from({ length: restBytes }, (_, i) => i & 0xff));
    return 8 + restBytes;
  },
  flip(input, protectedBytes, bit) {
    input.int(4, 0, 4).int(bit, 0, protectedBytes * 8 - 1);
  },
  random(input, rtcp, bytes) {
    input
      .int(rtcp ? 1 : 0, 0, 4)
      .int(bytes.length, 0, 400)
      .bytes(bytes);
  },
};
{
  const input = srtp.start(new Input(), false, [], undefined);
  let last = 0;
  for (const seq of [65533, 65534, 65535, 0, 1]) last = srtp.rtp(input, seq, 3, 160) + 10;
  srtp.flip(input, last, 100);
  const rtcp = srtp.rtcp(input, 3, 24) + 14;
  srtp.flip(input, rtcp, rtcp * 8 - 100);
  srtp.random(input, false, [0x80, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, ...Array(30).fill(0x55)]);
  write('srtp', 'rtp-80-wrap-rtcp-flips', input);
}
{
  const input = srtp.start(new Input(), true, [0, 1], 3);
  for (const seq of [10, 12, 11, 13]) srtp.rtp(input, seq, 7, 20, { cc: 2, extWords: 1 });
  srtp.random(input, true, [0x81, 200, 0, 1, 0, 0, 0, 7, 0x80, 0, 0, 0, 0, 1]);
  write('srtp', 'rtp-32-mki-lifetime', input);
}

console.log(`seeds written under ${path.relative(process.cwd(), corpusDir) || corpusDir}`);

// OutboundAudio: conversion per API format (checked against the separately tested G.711 and
// Resampler wrappers), 20 ms pulls, flush padding, barge-in clear, overflow bound, underrun
// accounting, odd PCM16 splits and argument errors.
import t from 'tap';
import { OutboundAudio } from '../../src/media/outbound-audio.js';
import type { AudioFormat } from '../../src/audio/audio-format.js';
import { alawToUlaw, decodeUlaw, encodeAlaw, encodeUlaw, ulawToAlaw } from '../../src/media/g711.js';
import { Resampler } from '../../src/media/resampler.js';

function pullAll(out: OutboundAudio): Buffer {
  const frames: Buffer[] = [];
  for (let f = out.pull(); f !== undefined; f = out.pull()) {
    if (f.length !== 160) throw new Error(`frame of ${f.length} bytes`);
    frames.push(f);
  }
  return Buffer.concat(frames);
}

function tonePcm(freq: number, rate: number, count: number, amp: number): Buffer {
  const b = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++)
    b.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate)), i * 2);
  return b;
}

function noiseBytes(count: number, seed: number): Buffer {
  const b = Buffer.alloc(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

t.test('G.711 in: pass-through and direct transcoding', async (t) => {
  const input = noiseBytes(1600, 1);
  const same = new OutboundAudio({ encoding: 'pcmu' }, 'PCMU');
  same.push(input);
  t.equal(same.queuedMs, 200);
  t.ok(pullAll(same).equals(input), 'pcmu -> PCMU untouched');

  const a2u = new OutboundAudio({ encoding: 'pcma' }, 'PCMU');
  a2u.push(input);
  t.ok(pullAll(a2u).equals(alawToUlaw(input)), 'pcma -> PCMU transcoded code by code');

  const u2a = new OutboundAudio({ encoding: 'pcmu' }, 'PCMA');
  u2a.push(input);
  t.ok(pullAll(u2a).equals(ulawToAlaw(input)), 'pcmu -> PCMA transcoded code by code');
});

for (const sampleRate of [16000, 24000] as const) {
  t.test(`pcm@${sampleRate}: resampled to 8 kHz then G.711-encoded, odd splits`, async (t) => {
    const input = tonePcm(1000, sampleRate, sampleRate / 2, 10000); // 500 ms
    const expected = encodeAlaw(new Resampler(sampleRate, 8000).process(input));
    const whole = new OutboundAudio({ encoding: 'pcm', sampleRate }, 'PCMA');
    whole.push(input);
    const pulled = pullAll(whole);
    t.equal(pulled.length, Math.floor(expected.length / 160) * 160);
    t.ok(pulled.equals(expected.subarray(0, pulled.length)), 'same bytes as Resampler + encodeAlaw');

    // Odd-sized pushes split samples across calls: the carried byte must rejoin its partner.
    const split = new OutboundAudio({ encoding: 'pcm', sampleRate }, 'PCMA');
    let off = 0;
    const sizes = [1, 3, 7, 160, 1, 1, 999, 2, 333];
    for (let i = 0; off < input.length; i++) {
      const len = Math.min(sizes[i % sizes.length]!, input.length - off);
      split.push(input.subarray(off, off + len));
      off += len;
    }
    t.ok(pullAll(split).equals(pulled), 'odd-length pushes give the same audio');
  });
}

t.test('pcm@24000 -> PCMU keeps a 1 kHz tone and flush plays out the filter tail', async (t) => {
  const out = new OutboundAudio({ encoding: 'pcm', sampleRate: 24000 }, 'PCMU');
  out.push(tonePcm(1000, 24000, 2400, 10000)); // exactly 100 ms
  out.flush();
  const audio = decodeUlaw(pullAll(out));
  t.ok(audio.length / 2 >= 800, `at least the 100 ms pushed comes out (${audio.length / 2} samples)`);
  t.equal((audio.length / 2) % 160, 0, 'whole frames');
  // Amplitude of 1 kHz over 40 ms in the middle (exact bins: 40 cycles in 320 samples).
  const start = 200;
  const n = 320;
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const x = audio.readInt16LE((start + i) * 2);
    re += x * Math.cos((2 * Math.PI * 1000 * i) / 8000);
    im += x * Math.sin((2 * Math.PI * 1000 * i) / 8000);
  }
  const amp = (2 * Math.hypot(re, im)) / n;
  t.ok(Math.abs(20 * Math.log10(amp / 10000)) < 0.2, `1 kHz comes out at ${amp.toFixed(0)} (10000 in)`);
  const tail = audio.readInt16LE(audio.length - 2);
  t.ok(Math.abs(tail) <= 8, 'ends in silence');
});

t.test('pull gives 20 ms frames; flush pads the last partial frame with silence', async (t) => {
  for (const [codec, silence] of [
    ['PCMU', 0xff],
    ['PCMA', 0xd5],
  ] as const) {
    const format: AudioFormat = codec === 'PCMU' ? { encoding: 'pcmu' } : { encoding: 'pcma' };
    const out = new OutboundAudio(format, codec);
    const input = noiseBytes(420, 9);
    out.push(input);
    t.ok(out.pull()?.equals(input.subarray(0, 160)));
    t.ok(out.pull()?.equals(input.subarray(160, 320)));
    t.equal(out.pull(), undefined, '100 bytes left: nothing to pull');
    t.equal(out.queuedMs, 12.5);
    out.flush();
    t.equal(out.queuedMs, 20);
    const last = out.pull();
    t.ok(last?.subarray(0, 100).equals(input.subarray(320)), 'tail audio first');
    t.ok(
      last?.subarray(100).every((b) => b === silence),
      `then ${silence.toString(16)} silence`,
    );
    t.equal(out.pull(), undefined);
    t.same(out.stats(), {
      pushedMs: 52.5,
      paddedMs: 7.5,
      playedMs: 60,
      droppedMs: 0,
      overflowDroppedMs: 0,
      underruns: 1, // the pull at 100 bytes left, mid-response
    });
  }
});

t.test('underruns count only a queue that runs dry mid-response', async (t) => {
  const out = new OutboundAudio({ encoding: 'pcmu' }, 'PCMU');
  t.equal(out.pull(), undefined);
  t.equal(out.stats().underruns, 0, 'idle before any audio');
  out.push(noiseBytes(320, 2));
  pullAll(out);
  t.equal(out.stats().underruns, 1, 'ran dry while playing');
  t.equal(out.pull(), undefined);
  t.equal(out.stats().underruns, 1, 'counted once per gap');
  out.push(noiseBytes(320, 3));
  out.flush();
  pullAll(out);
  out.pull();
  t.equal(out.stats().underruns, 1, 'flushed response drains without an underrun');
  out.push(noiseBytes(480, 4));
  out.pull();
  t.equal(out.clear(), 40, 'clear returns the ms dropped');
  t.equal(out.pull(), undefined);
  t.equal(out.stats().underruns, 1, 'barge-in is not an underrun');
  t.equal(out.stats().droppedMs, 40);
  t.equal(out.queuedMs, 0);
});

t.test('bounded: over maxQueueMs the oldest audio is dropped and counted', async (t) => {
  const out = new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: 100 });
  const input = noiseBytes(1200, 5);
  out.push(input.subarray(0, 500));
  out.push(input.subarray(500));
  t.equal(out.queuedMs, 100);
  t.equal(out.stats().overflowDroppedMs, 50);
  t.ok(pullAll(out).equals(input.subarray(400)), 'the newest 100 ms remain');
  out.push(noiseBytes(5000, 6)); // one push larger than the whole queue
  t.equal(out.queuedMs, 100);
  t.equal(out.stats().overflowDroppedMs, 50 + 525);
  const s = out.stats();
  t.equal(
    s.pushedMs + s.paddedMs,
    s.playedMs + s.droppedMs + s.overflowDroppedMs + out.queuedMs,
    'ms accounted',
  );
});

t.test(
  'a maxQueueMs that is not a multiple of 20 keeps whole frames; flush never leaves a partial one',
  async (t) => {
    const out = new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: 50 });
    const input = noiseBytes(700, 7);
    out.push(input);
    t.equal(out.queuedMs, 40, 'the newest two frames (50 ms rounded down)');
    t.equal(out.stats().overflowDroppedMs, 47.5);
    out.push(input.subarray(0, 100));
    out.flush();
    t.equal(out.queuedMs % 20, 0, `whole frames after flush (${out.queuedMs} ms)`);
    const played = pullAll(out);
    t.equal(played.length % 160, 0);
    t.equal(out.queuedMs, 0);
  },
);

t.test('the queue grows on demand up to maxQueueMs, in order across every growth and wrap', async (t) => {
  // Starts at 2 s: a 30 s answer pushed at once grows it four times; pulls in between wrap it.
  const out = new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: 120_000 });
  const input = noiseBytes(30 * 8000, 8);
  const played: Buffer[] = [];
  for (let off = 0; off < input.length; off += 1000) {
    out.push(input.subarray(off, off + 1000));
    const f = out.pull();
    if (f) played.push(f);
  }
  t.equal(out.stats().overflowDroppedMs, 0, 'nothing dropped below the cap');
  played.push(pullAll(out));
  t.ok(Buffer.concat(played).equals(input), '30 s out exactly as in');
  // Empty again (back to 2 s inside): a second long answer still fits.
  out.push(input);
  t.equal(out.queuedMs, 30_000);
  t.ok(pullAll(out).equals(input));
});

t.test('clear resets the converter: the next response starts clean', async (t) => {
  const fresh = new OutboundAudio({ encoding: 'pcm', sampleRate: 16000 }, 'PCMU');
  const used = new OutboundAudio({ encoding: 'pcm', sampleRate: 16000 }, 'PCMU');
  used.push(tonePcm(700, 16000, 1601, 20000)); // odd byte count leaves a carried byte
  used.push(Buffer.from([0x12]));
  used.clear();
  const next = tonePcm(300, 16000, 3200, 8000);
  fresh.push(next);
  used.push(next);
  t.ok(pullAll(used).equals(pullAll(fresh)));
  t.same(encodeUlaw(Buffer.alloc(2)), Buffer.from([0xff]));
});

t.test('bad arguments throw TypeError / RangeError', async (t) => {
  t.throws(() => new OutboundAudio({ encoding: 'opus' } as unknown as AudioFormat, 'PCMU'), RangeError);
  t.throws(
    () => new OutboundAudio({ encoding: 'pcm', sampleRate: 44100 } as unknown as AudioFormat, 'PCMU'),
    /sampleRate must be 16000 or 24000/,
  );
  t.throws(() => new OutboundAudio(null as unknown as AudioFormat, 'PCMU'), TypeError);
  t.throws(() => new OutboundAudio({ encoding: 'pcmu' }, 'G722' as 'PCMU'), RangeError);
  t.throws(() => new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: 0 }), RangeError);
  t.throws(() => new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: 1.5 }), RangeError);
  t.throws(() => new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: Infinity }), RangeError);
  t.throws(
    () => new OutboundAudio({ encoding: 'pcmu' }, 'PCMU', { maxQueueMs: '100' as unknown as number }),
    TypeError,
  );
  const out = new OutboundAudio({ encoding: 'pcm', sampleRate: 16000 }, 'PCMA');
  t.throws(() => out.push('audio' as unknown as Buffer), TypeError);
  t.throws(() => out.push(new Float32Array(4) as unknown as Buffer), TypeError);
  t.throws(() => out.push(undefined as unknown as Buffer), /Buffer or Uint8Array/);
  out.push(Buffer.alloc(0));
  t.equal(out.queuedMs, 0, 'empty push is a no-op');
});

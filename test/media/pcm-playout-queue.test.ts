// The PCM16 leg's playout queue (Vonage): agent deltas of any length out as exact 20 ms frames,
// a response's tail padded by flush(), everything dropped by clear(), underruns counted only
// inside a response.
import t from 'tap';
import { PcmPlayoutQueue } from '../../src/media/pcm-playout-queue.js';

t.test('exact 20 ms frames from deltas of any length', async (t) => {
  const q = new PcmPlayoutQueue({ encoding: 'pcm', sampleRate: 16000 });
  t.equal(q.frameBytes, 640);
  q.push(Buffer.alloc(333, 1));
  q.push(Buffer.alloc(501, 2)); // 834 bytes: one frame and a partial, split mid-sample
  const frame = q.pull()!;
  t.equal(frame.length, 640);
  t.same([frame[0], frame[332], frame[333], frame[639]], [1, 1, 2, 2], 'bytes in order across deltas');
  t.equal(q.pull(), undefined, 'less than a frame left');
  t.equal(q.stats().underruns, 1, 'a dry pull inside the response is an underrun');
  q.flush();
  const tail = q.pull()!;
  t.equal(tail.length, 640, 'flush pads the tail to a frame');
  t.equal(tail[193], 2);
  t.equal(tail[194], 0, 'with silence');
  t.equal(q.pull(), undefined);
  t.equal(q.stats().underruns, 1, 'no underrun counted after the response ended');
});

t.test('clear drops everything and reports the ms', async (t) => {
  const q = new PcmPlayoutQueue({ encoding: 'pcm', sampleRate: 16000 });
  q.push(Buffer.alloc(640 * 5));
  t.equal(q.queuedMs, 100);
  t.equal(q.clear(), 100);
  t.equal(q.queuedMs, 0);
  t.equal(q.pull(), undefined);
});

t.test('bounded: the oldest audio goes past maxQueueMs', async (t) => {
  const q = new PcmPlayoutQueue({ encoding: 'pcm', sampleRate: 16000 }, { maxQueueMs: 40 });
  for (let i = 0; i < 4; i++) q.push(Buffer.alloc(640, i));
  t.equal(q.queuedMs, 40);
  t.equal(q.stats().overflowDroppedMs, 40);
  t.equal(q.pull()![0], 2, 'the newest 40 ms remain');
});

t.test('agent PCM at another rate: resampled on push, odd bytes carried to the next delta', async (t) => {
  const q = new PcmPlayoutQueue(
    { encoding: 'pcm', sampleRate: 8000 },
    { apiFormat: { encoding: 'pcm', sampleRate: 16000 } },
  );
  t.equal(q.frameBytes, 320, 'frames at the leg rate');
  // 100 ms at 16 kHz, split mid-sample: 100 ms at 8 kHz, less the filter's start-up.
  t.doesNotThrow(() => q.push(Buffer.alloc(1601, 0)));
  t.doesNotThrow(() => q.push(Buffer.alloc(1599, 0)));
  t.ok(q.queuedMs > 90 && q.queuedMs <= 100, `${q.queuedMs} ms queued at the leg rate`);
  t.equal(q.pull()?.length, 320);
});

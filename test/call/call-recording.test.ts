// The call recording off the media tick: endTick() only copies samples, the file is written in
// 1 s blocks by fs.promises, close() resolves when the header is patched and the file closed, the
// bytes are the WAV the synchronous writer made (44-byte header with the final length, then the
// interleaved frames), and a failing disk is logged once and never reaches the tick.
import { readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CallRecording } from '../../src/call/call-recording.js';
import { decodeUlaw, encodeUlaw } from '../../src/media/g711.js';
import { wavHeader } from '../../src/media/wav-file.js';
import type { Logger } from '../../src/observability/logger.js';

function quietLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { warn: (_fields: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  return { log, warnings };
}

/** 160 samples of a ramp that differs per tick and side, so any misplaced frame shows. */
function frame(tick: number, side: number): Buffer {
  const pcm = Buffer.alloc(320);
  for (let i = 0; i < 160; i++) pcm.writeInt16LE(((tick * 7 + side * 1000 + i * 13) % 20000) - 10000, i * 2);
  return pcm;
}

const pcmu = { encoding: 'pcmu', sampleRate: 8000 } as const;

t.test('the bytes of the synchronous writer, written off the tick', async (t) => {
  const dir = t.testdir();
  const { log, warnings } = quietLog();
  const recording = new CallRecording(dir, 'call/1', pcmu, 'PCMU', log);
  t.equal(recording.file, path.join(dir, 'call_1.wav'));
  const ticks = 123; // two full 1 s blocks and a partial one
  const expected: Buffer[] = [];
  for (let n = 0; n < ticks; n++) {
    // Every third tick the agent is silent; every fifth the caller is: silence on that side.
    const caller = encodeUlaw(frame(n, 0));
    const agent = encodeUlaw(frame(n, 1));
    if (n % 5 !== 0) recording.caller(caller);
    if (n % 3 !== 0) recording.agent(agent);
    recording.endTick();
    const left = n % 5 !== 0 ? decodeUlaw(caller) : Buffer.alloc(320);
    const right = n % 3 !== 0 ? decodeUlaw(agent) : Buffer.alloc(320);
    const stereo = Buffer.alloc(640);
    for (let i = 0; i < 160; i++) {
      stereo.writeInt16LE(left.readInt16LE(i * 2), i * 4);
      stereo.writeInt16LE(right.readInt16LE(i * 2), i * 4 + 2);
    }
    expected.push(stereo);
    // The tick itself never touches the file: a full block is only queued.
    if (n === 49) t.ok(sizeOf(recording.file) <= 44, 'after a full block, nothing written yet in the tick');
  }
  await recording.close();
  const data = Buffer.concat(expected);
  t.same(
    readFileSync(recording.file),
    Buffer.concat([wavHeader(8000, 2, data.length), data]),
    'byte for byte',
  );
  t.same(warnings, []);
  await recording.close(); // twice is harmless
  recording.endTick(); // a tick after close writes nothing
  t.equal(statSync(recording.file).size, 44 + data.length);
});

t.test('a resampled caller frame still makes one 640-byte stereo frame', async (t) => {
  const dir = t.testdir();
  const { log } = quietLog();
  const recording = new CallRecording(dir, 'wide', { encoding: 'pcm', sampleRate: 16000 }, 'PCMU', log);
  recording.caller(Buffer.alloc(638, 0x11)); // 319 samples at 16 kHz: 159 and a half at 8 kHz
  recording.endTick();
  await recording.close();
  const wav = readFileSync(recording.file);
  t.equal(wav.length, 44 + 640, 'one stereo frame');
  t.equal(wav.readInt16LE(44 + 159 * 4 + 2), 0, 'right channel silent');
});

t.test('a disk that fails is logged once and never reaches the tick', async (t) => {
  const dir = t.testdir({ 'not-a-dir': 'a file where the directory should be' });
  const { log, warnings } = quietLog();
  const recording = new CallRecording(path.join(dir, 'not-a-dir'), 'c', pcmu, 'PCMU', log);
  for (let n = 0; n < 120; n++) {
    recording.caller(Buffer.alloc(160, 0xff));
    recording.endTick();
  }
  await recording.close();
  t.same(warnings, ['recording stopped'], 'one warning');

  // Writes that fail after the open: /dev/full answers every write with ENOSPC.
  const full = t.testdir();
  symlinkSync('/dev/full', path.join(full, 'c.wav'));
  const second = quietLog();
  const onFull = new CallRecording(full, 'c', pcmu, 'PCMU', second.log);
  for (let n = 0; n < 120; n++) onFull.endTick();
  await onFull.close();
  t.same(second.warnings, ['recording stopped'], 'one warning for the full disk');
});

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

// WAV reader/writer against files written by sox (a real, independent writer) and hand-built
// chunk layouts: 16-bit PCM is read sample for sample, anything else is a WavFormatError naming it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { readWav, wavHeader, wavHeaderBytes, WavFormatError, writeWav } from '../../src/media/wav-file.js';

function sox(...args: string[]): void {
  execFileSync('sox', args);
}

t.test('16-bit PCM written by sox reads back sample for sample', async (t) => {
  const dir = t.testdir();
  for (const [rate, channels] of [
    [8000, 1],
    [16000, 1],
    [48000, 2],
  ] as const) {
    const wav = path.join(dir, `s${rate}-${channels}.wav`);
    const raw = path.join(dir, `s${rate}-${channels}.raw`);
    sox(
      '-n',
      '-r',
      String(rate),
      '-c',
      String(channels),
      '-b',
      '16',
      wav,
      'synth',
      '0.25',
      'sine',
      '300-900',
    );
    sox(wav, '-t', 'raw', '-e', 'signed', '-b', '16', '-L', raw);
    const audio = readWav(wav);
    t.equal(audio.sampleRate, rate);
    t.equal(audio.channels, channels);
    t.same(audio.pcm, readFileSync(raw), `${rate} Hz × ${channels}: same samples as sox's raw output`);
  }
});

t.test('writeWav output is what sox reads', async (t) => {
  const dir = t.testdir();
  const pcm = Buffer.alloc(1600);
  for (let i = 0; i < 800; i++) pcm.writeInt16LE(((i * 37) % 2000) - 1000, i * 2);
  const file = path.join(dir, 'out.wav');
  writeWav(file, { sampleRate: 8000, channels: 1, pcm });
  const info = execFileSync('soxi', [file], { encoding: 'utf8' });
  t.match(info, /Sample Rate\s+:\s+8000/);
  t.match(info, /Channels\s+:\s+1/);
  t.match(info, /Duration\s+:\s+00:00:00\.10 = 800 samples/);
  t.match(info, /16-bit Signed Integer PCM/);
  t.same(readWav(file).pcm, pcm);
  t.equal(wavHeader(8000, 1, pcm.length).length, wavHeaderBytes);
});

t.test('chunks before data are skipped, odd sizes padded (RIFF word alignment)', async (t) => {
  const dir = t.testdir();
  const pcm = Buffer.from([1, 0, 2, 0, 3, 0, 4, 0]);
  const header = wavHeader(8000, 1, pcm.length);
  const fmt = header.subarray(12, 36);
  const list = Buffer.concat([
    Buffer.from('LIST'),
    Buffer.from([3, 0, 0, 0]),
    Buffer.from('abc'),
    Buffer.from([0]),
  ]);
  const data = Buffer.concat([header.subarray(36, 44), pcm]);
  const body = Buffer.concat([Buffer.from('WAVE'), list, fmt, data]);
  const riff = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), body]);
  riff.writeUInt32LE(body.length, 4);
  const file = path.join(dir, 'list.wav');
  writeFileSync(file, riff);
  t.same(readWav(file).pcm, pcm);
});

t.test('anything but 16-bit PCM is refused with what was found', async (t) => {
  const dir = t.testdir();
  const cases: [string, () => void, RegExp][] = [
    [
      'u8.wav',
      () =>
        sox(
          '-n',
          '-r',
          '8000',
          '-b',
          '8',
          '-e',
          'unsigned',
          path.join(dir, 'u8.wav'),
          'synth',
          '0.1',
          'sine',
          '440',
        ),
      /format 1 with 8-bit samples/,
    ],
    [
      'f32.wav',
      () =>
        sox(
          '-n',
          '-r',
          '8000',
          '-b',
          '32',
          '-e',
          'float',
          path.join(dir, 'f32.wav'),
          'synth',
          '0.1',
          'sine',
          '440',
        ),
      /format 3 with 32-bit samples/,
    ],
    [
      's24.wav',
      () => sox('-n', '-r', '8000', '-b', '24', path.join(dir, 's24.wav'), 'synth', '0.1', 'sine', '440'),
      /with 24-bit samples/,
    ],
    [
      'ulaw.wav',
      () => sox('-n', '-r', '8000', '-e', 'u-law', path.join(dir, 'ulaw.wav'), 'synth', '0.1', 'sine', '440'),
      /format 7 with 8-bit samples/,
    ],
    [
      'text.wav',
      () => writeFileSync(path.join(dir, 'text.wav'), 'not audio at all'),
      /not a RIFF\/WAVE file/,
    ],
    ['empty.wav', () => writeFileSync(path.join(dir, 'empty.wav'), ''), /not a RIFF\/WAVE file/],
    [
      'nodata.wav',
      () => writeFileSync(path.join(dir, 'nodata.wav'), wavHeader(8000, 1, 0).subarray(0, 36)),
      /no data chunk/,
    ],
    [
      'datafirst.wav',
      () => {
        const h = wavHeader(8000, 1, 2);
        writeFileSync(
          path.join(dir, 'datafirst.wav'),
          Buffer.concat([h.subarray(0, 12), h.subarray(36, 44), Buffer.alloc(2)]),
        );
      },
      /data chunk before the fmt chunk/,
    ],
  ];
  for (const [name, make, message] of cases) {
    make();
    const file = path.join(dir, name);
    t.throws(() => readWav(file), WavFormatError, `${name} refused`);
    t.throws(() => readWav(file), { message }, `${name}: ${String(message)}`);
  }
  t.throws(() => readWav(path.join(dir, 'missing.wav')), { code: 'ENOENT' });
});

// The caller's phrase for the stream tests (espeak-ng, as test/call/support/spoken-phrase.ts):
// raw μ-law at 8 kHz for Twilio, raw 16-bit little-endian PCM at 16 and 8 kHz for Vonage.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { phraseText } from '../../call/support/spoken-phrase.js';

export function phraseAudio(t: { teardown(fn: () => unknown): void }): {
  ulaw: Buffer;
  pcm16k: Buffer;
  pcm8k: Buffer;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'grok-sip-streams-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const wav = path.join(dir, 'phrase.wav');
  execFileSync('espeak-ng', ['-w', wav, phraseText]);
  const ul = path.join(dir, 'phrase.ul');
  const raw = path.join(dir, 'phrase.raw');
  execFileSync('sox', [wav, '-r', '8000', '-c', '1', '-t', 'ul', ul]);
  const raw8 = path.join(dir, 'phrase8.raw');
  execFileSync('sox', [wav, '-r', '16000', '-c', '1', '-e', 'signed', '-b', '16', '-t', 'raw', raw]);
  execFileSync('sox', [wav, '-r', '8000', '-c', '1', '-e', 'signed', '-b', '16', '-t', 'raw', raw8]);
  return { ulaw: readFileSync(ul), pcm16k: readFileSync(raw), pcm8k: readFileSync(raw8) };
}

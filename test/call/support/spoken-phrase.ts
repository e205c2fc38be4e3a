// The caller's voice for SIPp's rtp_stream: one spoken phrase (espeak-ng) as raw μ-law and A-law
// (phrase.ul, phrase.al) in a temporary working directory that SIPp runs in; removed in teardown.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** No pause inside: a pause would split it into two turns for the agent's VAD. */
export const phraseText = 'hello this is a test of the echo agent';

export function spokenPhraseDir(t: { teardown(fn: () => unknown): void }, name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `grok-sip-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const wav = path.join(dir, 'phrase.wav');
  execFileSync('espeak-ng', ['-w', wav, phraseText]);
  for (const type of ['ul', 'al']) {
    execFileSync('sox', [wav, '-r', '8000', '-c', '1', '-t', type, path.join(dir, `phrase.${type}`)]);
  }
  return dir;
}

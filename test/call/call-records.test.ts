// What a call leaves behind when asked: the transcript of both sides (JSONL, in order) and the
// stereo recording (caller left, agent right, 8 kHz), after a SIPp caller spoke a phrase and the
// local agent echoed it; and what the metrics saw while it was up (setup at the ACK, first agent
// audio when it left), the same numbers as its CDR.
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord, CallObserver } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { readWav } from '../../src/media/wav-file.js';
import { runSipp } from '../sip/support/run-peer.js';
import { spokenPhraseDir } from './support/spoken-phrase.js';

/** The file's lines once it holds `count` newline-terminated ones (5 s at most). */
async function completeLines(file: string, count: number): Promise<string[]> {
  const until = Date.now() + 5000;
  for (;;) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').slice(0, -1);
    if (lines.length >= count || Date.now() > until) return lines;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('transcript JSONL and stereo WAV of an echoed phrase', async (t) => {
  const work = spokenPhraseDir(t, 'records');
  const out = t.testdir();
  const transcripts = path.join(out, 'transcripts');
  const recordings = path.join(out, 'recordings');
  const seen: string[] = [];
  const observer: CallObserver = {
    accepted: () => seen.push('accepted'),
    answered: (ms) => seen.push(`answered ${ms}`),
    firstAgentAudio: (ms) => seen.push(`firstAgentAudio ${ms}`),
    turnLatency: () => undefined,
    bargeIn: () => undefined,
    realtimeError: () => undefined,
    ended: () => seen.push('ended'),
  };
  const app = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: 19050 }] }
media:
  rtpAddress: 127.0.0.1
  portMin: 28100
  portMax: 28199
  transcripts: { dir: '${transcripts}' }
  recordings: { dir: '${recordings}', wav: true }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat. }]
`,
      {},
    ),
    { observer },
  );
  t.teardown(() => app.stop());
  // The recording is closed (its last block written and its header fixed) before the call's CDR.
  const ended = once(app.events, 'call-ended') as Promise<[CallDetailRecord]>;
  const r = await runSipp(
    t,
    '127.0.0.1:19050',
    [
      '-sf',
      path.resolve('sip-config/sipp/uac_speak_pcmu.xml'),
      '-s',
      'echo',
      '-m',
      '1',
      '-p',
      '19055',
      '-mp',
      '28210',
    ],
    { cwd: work },
  );
  t.equal(r.code, 0, 'SIPp call completed');
  const [cdr] = await ended;
  t.same(
    seen,
    ['accepted', `answered ${cdr.setupMs}`, `firstAgentAudio ${cdr.firstAgentAudioMs}`, 'ended'],
    'setup and first agent audio observed when they happened, as the CDR has them',
  );

  // The transcript's stream is ended with the call but not awaited by it (nothing to flush from
  // outside): wait for its two lines, not for a fixed time.
  const [transcriptFile] = readdirSync(transcripts);
  const lines = (await completeLines(path.join(transcripts, transcriptFile!), 2)).map(
    (l) => JSON.parse(l) as { role: string; text: string; atMs: number },
  );
  t.same(
    lines.map((l) => l.role),
    ['user', 'agent'],
    'the caller, then the agent',
  );
  t.match(lines[0]?.text, /^\[caller \d\.\d s\]$/);
  t.match(lines[1]?.text, /^\[echo \d\.\d s\]$/);
  t.ok(lines[1]!.atMs >= lines[0]!.atMs, 'in time order');

  const [wavFile] = readdirSync(recordings);
  const wav = readWav(path.join(recordings, wavFile!));
  t.equal(wav.channels, 2);
  t.equal(wav.sampleRate, 8000);
  const seconds = wav.pcm.length / 4 / 8000;
  t.ok(seconds > 7 && seconds < 10, `the recording spans the call (${seconds.toFixed(2)} s of an ~8 s call)`);
  // Per 500 ms: RMS of each channel. The caller speaks first, the agent's echo follows.
  const rms = (channel: 0 | 1, fromSec: number, toSec: number): number => {
    let sum = 0;
    let n = 0;
    for (let i = Math.floor(fromSec * 8000); i < Math.min(toSec * 8000, wav.pcm.length / 4); i++, n++) {
      const v = wav.pcm.readInt16LE(i * 4 + channel * 2);
      sum += v * v;
    }
    return Math.sqrt(sum / Math.max(1, n));
  };
  const firstVoiced = (channel: 0 | 1): number => {
    for (let s = 0; s < seconds; s += 0.1) if (rms(channel, s, s + 0.1) > 1000) return s;
    return Infinity;
  };
  const callerAt = firstVoiced(0);
  const agentAt = firstVoiced(1);
  t.ok(callerAt < 1, `caller heard on the left from ${callerAt.toFixed(1)} s`);
  t.ok(agentAt > callerAt + 1.5 && agentAt < 5, `agent's echo on the right from ${agentAt.toFixed(1)} s`);
  t.ok(rms(1, 0, callerAt + 1) < 100, 'the right channel is silent while only the caller speaks');
});

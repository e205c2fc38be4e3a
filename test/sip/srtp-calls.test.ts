// SRTP calls end to end against grok-sip itself (embedded backend over UDP, echo agent):
//  - SIPp offers RTP/SAVP with two a=crypto lines and gets an RTP/SAVP answer echoing the usable
//    line's tag and suite with a key of our own (media.srtp optional);
//  - with media.srtp required a plain RTP/AVP offer gets 488, and an INVITE without SDP gets our
//    RTP/SAVP offer (both suites) whose answer in the ACK starts the call;
//  - baresip with its srtp module and mediaenc=srtp-mand calls: its 600 Hz tone crosses to the
//    echo agent as SRTP and comes back as SRTP into its recording (both directions decrypted),
//    and a spoken phrase does the same, compared by correlation with what baresip sent.
// Ports 35100-35299.
import t, { type Test } from 'tap';
import { fileURLToPath } from 'node:url';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  bestCorrelation,
  samplesOf,
  segmentedCorrelation,
  trimSilence,
} from '../call/support/audio-compare.js';
import { spokenPhraseDir } from '../call/support/spoken-phrase.js';
import { baresipDir, receivedPcm, receivedTone } from './support/baresip.js';
import { runPeer, runSipp } from './support/run-peer.js';

const SIPP_DIR = fileURLToPath(new URL('../../sip-config/sipp/', import.meta.url));

t.setTimeout(90_000);

async function grokSip(t: Test, sipPort: number, rtpMin: number, srtp: string) {
  const app = await startGrokSip(
    parseConfig(
      `sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
media: { rtpAddress: 127.0.0.1, portMin: ${rtpMin}, portMax: ${rtpMin + 19}, workers: 0, srtp: ${srtp} }
agents:
  profiles: [{ name: echo, instructions: Repeat. }]
  routes: [{ match: echo, agent: echo }]
`,
      {},
    ),
  );
  t.teardown(() => app.stop());
  const ended: string[] = [];
  app.events.on('call-ended', (record) => ended.push(`${record.sipStatus} ${record.endReason}`));
  return { app, ended };
}

async function until(cond: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('SIPp offers RTP/SAVP with a=crypto: answered RTP/SAVP, its tag and suite, our own key', async (t) => {
  const { ended } = await grokSip(t, 35100, 35110, 'optional');
  const r = await runSipp(t, '127.0.0.1:35100', [
    '-sf',
    `${SIPP_DIR}uac_srtp_offer.xml`,
    '-s',
    'echo',
    '-p',
    '35101',
    '-mp',
    '35140',
    '-d',
    '500',
    '-m',
    '1',
  ]);
  t.equal(r.code, 0, `sipp rc 0: the answer matched (${r.errors ?? r.stderr.slice(-300)})`);
  await until(() => ended.length === 1);
  t.same(ended, ['200 remote-bye']);
});

t.test('media.srtp required: a plain RTP/AVP offer gets 488', async (t) => {
  const { ended } = await grokSip(t, 35150, 35160, 'required');
  // SIPp's built-in uac expects a 200, so it fails: the call record says what grok-sip answered.
  await runSipp(t, '127.0.0.1:35150', ['-sn', 'uac', '-s', 'echo', '-p', '35151', '-m', '1'], {
    timeoutSec: 5,
  });
  await until(() => ended.length === 1);
  t.same(ended, ['488 rejected']);
});

t.test('media.srtp required, INVITE without SDP: our RTP/SAVP offer, answered in the ACK', async (t) => {
  const { ended } = await grokSip(t, 35170, 35175, 'required');
  const r = await runSipp(t, '127.0.0.1:35170', [
    '-sf',
    `${SIPP_DIR}uac_srtp_late_offer.xml`,
    '-s',
    'echo',
    '-p',
    '35171',
    '-mp',
    '35196',
    '-d',
    '500',
    '-m',
    '1',
  ]);
  t.equal(r.code, 0, `sipp rc 0: our offer matched (${r.errors ?? r.stderr.slice(-300)})`);
  await until(() => ended.length === 1);
  t.same(ended, ['200 remote-bye'], 'the SRTP answer in the ACK was taken (else: 200 rejected)');
});

t.test('baresip with srtp-mand: its tone goes out and comes back as SRTP', async (t) => {
  const { ended } = await grokSip(t, 35200, 35210, 'required');
  const dir = baresipDir(t, {
    sipPort: 35240,
    rtpPort: 35250,
    toneSec: 2, // the caller "speaks", then listens while the echo plays back
    silenceSec: 6,
    config: 'module\t\t\tsrtp.so\n',
    accountParams: ';mediaenc=srtp-mand',
  });
  const { done } = runPeer(t, 'baresip', ['-f', dir, '-e', '/dial sip:echo@127.0.0.1:35200', '-t', '9'], {
    timeoutMs: 25_000,
  });
  const r = await done;
  const out = r.stdout + r.stderr;
  t.match(out, /established/i, 'baresip saw the call established');
  await until(() => ended.length === 1);
  // media.srtp required: only an RTP/SAVP offer with a usable a=crypto line gets a 200.
  t.same(ended, ['200 remote-bye'], "one SRTP call, answered, ended by baresip's BYE");
  const tone = receivedTone(dir);
  if (!('rms' in tone)) return t.fail(`baresip recorded nothing it received (${tone.files.join(', ')})`);
  const { frequency, rms } = tone;
  t.ok(
    Math.abs(frequency - 600) <= 15,
    `the echo is baresip's 600 Hz tone (sox: ${frequency} Hz, RMS ${rms})`,
  );
  t.ok(rms > 0.05, 'and loud: decrypted audio, not noise or silence');
});

t.test('baresip with srtp-mand speaks a phrase: the echo it receives correlates with it', async (t) => {
  const { ended } = await grokSip(t, 35400, 35410, 'required');
  const phrase = join(spokenPhraseDir(t, 'srtp-phrase'), 'phrase.wav');
  const dir = baresipDir(t, {
    sipPort: 35440,
    rtpPort: 35450,
    toneSec: 0,
    sourceWav: phrase,
    silenceSec: 6,
    config: 'module\t\t\tsrtp.so\n',
    accountParams: ';mediaenc=srtp-mand',
  });
  const { done } = runPeer(t, 'baresip', ['-f', dir, '-e', '/dial sip:echo@127.0.0.1:35400', '-t', '9'], {
    timeoutMs: 25_000,
  });
  await done;
  await until(() => ended.length === 1);
  t.same(ended, ['200 remote-bye'], 'one SRTP call');
  const echo = receivedPcm(dir);
  if (echo === undefined) return t.fail('baresip recorded nothing it received');
  const sent = execFileSync('sox', [
    join(dir, 'tone.wav'),
    ...['-t', 'raw', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'],
  ]);
  const reference = trimSilence(samplesOf(sent));
  // baresip records only the packets it plays (we send none in silence): the echo, a little short.
  const heard = trimSilence(samplesOf(echo));
  t.ok(heard.length > 0.8 * reference.length, `baresip heard ${heard.length} of ${reference.length} samples`);
  const whole = bestCorrelation(heard, reference);
  const pieces = segmentedCorrelation(reference, heard);
  t.ok(
    Math.max(whole.correlation, pieces.correlation) >= 0.9,
    `the echo is the phrase: correlation ${whole.correlation.toFixed(3)} whole, ${pieces.correlation.toFixed(3)} in 250 ms pieces (shifts ${pieces.shifts.join(' ') || 'none'})`,
  );
});

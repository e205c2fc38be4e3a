// baresip, a real softphone, calls the endpoint: the call is established (RTP flows from
// baresip's aufile source) and torn down by our BYE.
import t from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runPeer } from './support/run-peer.js';
import { until } from './support/raw-sip.js';

const CONFIG_DIR = fileURLToPath(new URL('../../sip-config/baresip/', import.meta.url));
const PORT = 17500;

t.test('baresip dials in, call established and torn down by our BYE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-baresip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'rec'));
  execFileSync('sox', [
    '-n',
    '-r',
    '8000',
    '-c',
    '1',
    '-b',
    '16',
    '-e',
    'signed-integer',
    join(dir, 'tone.wav'),
    'synth',
    '8',
    'sine',
    '600',
    'vol',
    '0.5',
  ]);
  const config = readFileSync(join(CONFIG_DIR, 'config'), 'utf8')
    .replace(/^sip_listen.*$/m, `sip_listen\t\t127.0.0.1:${PORT + 10}`)
    .replace(/^audio_source.*$/m, `audio_source\t\taufile,${join(dir, 'tone.wav')}`)
    .replace(/^rtp_ports.*$/m, `rtp_ports\t\t${PORT + 20}-${PORT + 39}`)
    .replace(/^snd_path.*$/m, `snd_path\t\t${join(dir, 'rec')}`);
  writeFileSync(join(dir, 'config'), config);
  copyFileSync(join(CONFIG_DIR, 'accounts'), join(dir, 'accounts'));

  const backend = await startEndpoint(t, PORT);
  const log = answerCalls(backend, { hangupAfterMs: 1500 });
  const { done } = runPeer(t, 'baresip', ['-f', dir, '-e', `/dial sip:4711@127.0.0.1:${PORT}`, '-t', '6'], {
    timeoutMs: 20_000,
  });
  await until(() => log.ended.length === 1, 15_000);
  t.equal(log.calls.length, 1, 'baresip call arrived');
  t.equal(log.calls[0]?.dialledUser, '4711');
  t.equal(log.dialogs.length, 1, 'established (ACK received)');
  t.match(log.dialogs[0]?.remoteSdp ?? '', /m=audio \d+ RTP\/AVP/, 'baresip offered audio');
  t.same(log.ended, ['local-bye'], 'our BYE ended it');
  const r = await done;
  t.match(r.stdout + r.stderr, /established/i, 'baresip saw the call established');
  t.match(r.stdout + r.stderr, /terminated|closed/i, 'baresip saw it end');
});

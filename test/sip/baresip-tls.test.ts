// baresip, a real softphone, calls grok-sip over SIP over TLS (sip_cafile trusts our test CA):
// the call is set up over TLS, baresip's 600 Hz tone reaches the echo agent and comes back in
// baresip's recording, and baresip's BYE ends it. Media is plain RTP (SRTP is tested elsewhere).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { runPeer } from './support/run-peer.js';
import { makeTestPki } from './support/test-certificates.js';

const CONFIG_DIR = fileURLToPath(new URL('../../sip-config/baresip/', import.meta.url));
const TLS_PORT = 36301;
const BARESIP_PORT = 36310;
const RTP_MIN = 36320;
const BARESIP_RTP = 36360;

t.setTimeout(60_000);

t.test('baresip calls over TLS: the call is set up, its tone comes back, its BYE ends it', async (t) => {
  const pki = makeTestPki(t);
  const ours = pki.issue('grok-sip', 'IP:127.0.0.1');
  const theirs = pki.issue('baresip', 'IP:127.0.0.1');
  const dir = pki.dir;
  mkdirSync(join(dir, 'rec'));
  // baresip wants its certificate and key in one file.
  writeFileSync(
    join(dir, 'baresip-both.pem'),
    readFileSync(theirs.cert).toString() + readFileSync(theirs.key).toString(),
  );
  // 2 s of tone (the caller "speaks"), then silence while the echo plays back.
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
    '2',
    'sine',
    '600',
    'vol',
    '0.5',
    'pad',
    '0',
    '6',
  ]);
  const config = readFileSync(join(CONFIG_DIR, 'config'), 'utf8')
    .replace(/^sip_listen.*$/m, `sip_listen\t\t127.0.0.1:${BARESIP_PORT}`)
    .replace(/^audio_source.*$/m, `audio_source\t\taufile,${join(dir, 'tone.wav')}`)
    .replace(/^rtp_ports.*$/m, `rtp_ports\t\t${BARESIP_RTP}-${BARESIP_RTP + 19}`)
    .replace(/^snd_path.*$/m, `snd_path\t\t${join(dir, 'rec')}`)
    .concat(`sip_certificate\t\t${join(dir, 'baresip-both.pem')}\nsip_cafile\t\t${pki.ca}\n`);
  writeFileSync(join(dir, 'config'), config);
  copyFileSync(join(CONFIG_DIR, 'accounts'), join(dir, 'accounts'));

  const app = await startGrokSip(
    parseConfig(
      `sip:
  # TLS only: the call cannot have come any other way.
  listen:
    - { transport: tls, address: 127.0.0.1, port: ${TLS_PORT}, cert: '${ours.cert}', key: '${ours.key}', ca: '${pki.ca}' }
media: { rtpAddress: 127.0.0.1, portMin: ${RTP_MIN}, portMax: ${RTP_MIN + 19}, workers: 0 }
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

  const { done } = runPeer(
    t,
    'baresip',
    ['-f', dir, '-e', `/dial sip:echo@127.0.0.1:${TLS_PORT};transport=tls`, '-t', '9'],
    { timeoutMs: 25_000 },
  );
  const r = await done;
  const out = r.stdout + r.stderr;
  t.match(out, /established/i, 'baresip saw the call established');
  t.same(ended, ['200 remote-bye'], "one call, answered, ended by baresip's BYE over TLS");
  const recordings = readdirSync(join(dir, 'rec'));
  const received = recordings.find((f) => /dec\.wav$/.test(f));
  t.ok(received, `baresip recorded what it received (${recordings.join(', ')})`);
  if (received === undefined) return;
  const sox = execFileSync('sh', ['-c', `sox "${join(dir, 'rec', received)}" -n stat 2>&1`], {
    encoding: 'utf8',
  });
  const frequency = Number(/Rough\s+frequency:\s+(\d+)/.exec(sox)?.[1]);
  const rms = Number(/RMS\s+amplitude:\s+([\d.]+)/.exec(sox)?.[1]);
  t.ok(
    Math.abs(frequency - 600) <= 15,
    `the echo is baresip's 600 Hz tone (sox: ${frequency} Hz, RMS ${rms})`,
  );
});

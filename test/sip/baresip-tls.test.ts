// baresip, a real softphone, calls grok-sip over SIP over TLS (sip_cafile trusts our test CA; the
// listener is TLS only, so the call cannot come any other way): the call is set up, baresip's
// 600 Hz tone reaches the echo agent and comes back in baresip's recording, and baresip's BYE
// ends it. Once with plain RTP, once as a secure trunk: TLS with SRTP mandatory on both sides
// (baresip mediaenc=srtp-mand, media.srtp required).
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { baresipDir, receivedTone } from './support/baresip.js';
import { runPeer } from './support/run-peer.js';
import { makeTestPki } from './support/test-certificates.js';

t.setTimeout(90_000);

/** grok-sip on a TLS-only listener with the echo agent, baresip dialling it over TLS. */
async function baresipCallOverTls(
  t: Test,
  ports: { tls: number; rtp: number; baresip: number; baresipRtp: number },
  srtp: 'optional' | 'required',
): Promise<void> {
  const pki = makeTestPki(t);
  const ours = pki.issue('grok-sip', 'IP:127.0.0.1');
  const theirs = pki.issue('baresip', 'IP:127.0.0.1');
  // baresip wants its certificate and key in one file.
  const both = join(pki.dir, 'baresip-both.pem');
  writeFileSync(both, readFileSync(theirs.cert).toString() + readFileSync(theirs.key).toString());
  const dir = baresipDir(t, {
    sipPort: ports.baresip,
    rtpPort: ports.baresipRtp,
    toneSec: 2, // the caller "speaks", then listens while the echo plays back
    silenceSec: 6,
    config:
      `sip_certificate\t\t${both}\nsip_cafile\t\t${pki.ca}\n` +
      (srtp === 'required' ? 'module\t\t\tsrtp.so\n' : ''),
    ...(srtp === 'required' && { accountParams: ';mediaenc=srtp-mand' }),
  });
  const app = await startGrokSip(
    parseConfig(
      `sip:
  listen:
    - { transport: tls, address: 127.0.0.1, port: ${ports.tls}, cert: '${ours.cert}', key: '${ours.key}', ca: '${pki.ca}' }
media: { rtpAddress: 127.0.0.1, portMin: ${ports.rtp}, portMax: ${ports.rtp + 19}, workers: 0, srtp: ${srtp} }
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
    ['-f', dir, '-e', `/dial sip:echo@127.0.0.1:${ports.tls};transport=tls`, '-t', '9'],
    { timeoutMs: 25_000 },
  );
  const r = await done;
  t.match(r.stdout + r.stderr, /established/i, 'baresip saw the call established');
  // With media.srtp required only an RTP/SAVP offer with a usable a=crypto line gets a 200.
  t.same(
    ended,
    ['200 remote-bye'],
    `one call over TLS (${srtp === 'required' ? 'SRTP' : 'RTP'}), answered, ended by baresip's BYE`,
  );
  const tone = receivedTone(dir);
  if (!('rms' in tone)) return void t.fail(`baresip recorded nothing it received (${tone.files.join(', ')})`);
  t.ok(
    Math.abs(tone.frequency - 600) <= 15,
    `the echo is baresip's 600 Hz tone (sox: ${tone.frequency} Hz, RMS ${tone.rms})`,
  );
  t.ok(tone.rms > 0.05, 'and loud: real audio, not noise or silence');
}

t.test('baresip over TLS, plain RTP: set up, its tone comes back, its BYE ends the call', async (t) => {
  await baresipCallOverTls(t, { tls: 36301, rtp: 36320, baresip: 36310, baresipRtp: 36360 }, 'optional');
});

t.test(
  'baresip over TLS with SRTP mandatory (a secure trunk): the tone crosses encrypted both ways',
  async (t) => {
    await baresipCallOverTls(t, { tls: 36601, rtp: 36620, baresip: 36610, baresipRtp: 36660 }, 'required');
  },
);

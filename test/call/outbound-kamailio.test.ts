// An outbound call through Kamailio as an authenticating outbound proxy (a carrier's edge):
// Kamailio answers the first INVITE with 407, checks the digest of the second for real (SIPp's
// verifyauth cannot read Proxy-Authorization), Record-Routes and relays it to a SIPp callee
// echoing RTP; our BYE goes back through Kamailio. A wrong password ends the call as failed 407.
// Ports: Kamailio 37700, grok-sip SIP 37701, RTP 37710-37719, SIPp callee 37720 (media 37725).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startKamailio } from '../sip/support/kamailio.js';
import { runPeer } from '../sip/support/run-peer.js';
import type { Tap } from '../sip/support/sip-endpoint.js';

const dir = mkdtempSync(path.join(tmpdir(), 'grok-sip-kam-out-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cfg = path.join(dir, 'outbound-proxy.cfg');
writeFileSync(
  cfg,
  readFileSync(path.resolve('sip-config/kamailio/outbound-proxy.cfg'), 'utf8').replaceAll(
    '127.0.0.1:5070',
    '127.0.0.1:37720',
  ),
);

function config(password: string) {
  return parseConfig(
    `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37701 }]
media: { rtpAddress: 127.0.0.1, portMin: 37710, portMax: 37719, workers: 0 }
agents:
  profiles: [{ name: hello, instructions: Say hello., greeting: Hello there, audioFormat: auto }]
  routes: []
trunks:
  - { name: carrier, proxy: "sip:127.0.0.1:37700", username: trunkuser, password: "\${TRUNK_PASSWORD}", fromUser: "15550100" }
`,
    { TRUNK_PASSWORD: password },
  );
}

async function sippCallee(t: Tap) {
  const peer = runPeer(
    t,
    'sipp',
    [
      '-sf',
      path.resolve('sip-config/sipp/uas_record_route.xml'),
      '-i',
      '127.0.0.1',
      '-p',
      '37720',
      '-mi',
      '127.0.0.1',
      '-mp',
      '37725',
      '-rtp_echo',
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '40s',
      '-timeout_error',
    ],
    { timeoutMs: 45_000 },
  );
  const hex = `:${(37720).toString(16).toUpperCase()}`;
  for (let i = 0; i < 200; i++) {
    const table = await readFile('/proc/net/udp', 'utf8');
    if (table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return peer;
}

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  for (const end = Date.now() + maxMs; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

t.test('Kamailio challenges, verifies the digest and relays; BYE goes back through it', async (t) => {
  const kamailio = await startKamailio(t, 37700, { cfg });
  const sipp = await sippCallee(t);
  const app: GrokSipApp = await startGrokSip(config('trunkpass'), {
    localAgent: { mode: 'scripted', script: { turns: [{ kind: 'say', text: 'hello', durationMs: 1000 }] } },
  });
  t.teardown(() => app.stop());
  const call = app.placeCall({ to: '4000', trunk: 'carrier', agent: 'hello' });
  t.ok(await until(() => call.state === 'answered', 15_000), 'answered through the proxy');
  const echoed = (): boolean =>
    app.localAgent?.received.some((r) => r.event.type === 'input_audio_buffer.append') === true;
  t.ok(await until(echoed, 10_000), "the callee's RTP (the greeting echoed) reached the agent");
  call.hangup();
  const record = await call.done;
  t.match(record, {
    sipStatus: 200,
    endReason: 'api-hangup',
    trunk: 'carrier',
    from: 'sip:15550100@127.0.0.1',
  });
  t.ok(record.media !== undefined && record.media.packetsIn > 0, 'RTP from the callee (echo) reached us');
  const peer = await sipp.done;
  t.equal(peer.code, 0, `SIPp got the call and our BYE ${peer.stderr.slice(-300)}`);
  const log = kamailio.log();
  t.match(log, /authorized trunkuser -> sip:4000@127\.0\.0\.1:37720/, 'Kamailio verified the digest');
  t.match(log, /REQ ACK sip:127\.0\.0\.1:37720/, 'the 2xx ACK came through Kamailio (Record-Route)');
  t.match(log, /REQ BYE sip:127\.0\.0\.1:37720/, 'the BYE came through Kamailio');
});

t.test('a wrong trunk password: the 407 is final, the call failed', async (t) => {
  await startKamailio(t, 37700, { cfg });
  const app: GrokSipApp = await startGrokSip(config('not-the-password'));
  t.teardown(() => app.stop());
  const record = await app.placeCall({ to: '4000', trunk: 'carrier', agent: 'hello' }).done;
  t.match(record, { sipStatus: 407, endReason: 'failed' });
});

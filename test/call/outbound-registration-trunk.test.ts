// A registration serving as a trunk: grok-sip REGISTERs to Kamailio as bot (digest), baresip
// REGISTERs as bot2 and auto-answers; a call to "bot2" through the trunk named after bot's
// registration goes to the registrar, which finds baresip's binding and relays (Record-Route). The
// echo agent says baresip's 600 Hz tone back, and baresip's recording is that tone.
// Ports: Kamailio 37950, grok-sip SIP 37951, RTP 37960-37979, baresip SIP 37952, RTP 37980-37999.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { baresipDir, receivedTone } from '../sip/support/baresip.js';
import { startKamailio } from '../sip/support/kamailio.js';
import { runPeer } from '../sip/support/run-peer.js';

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37951 }]
  registrations: [{ aor: "sip:bot@127.0.0.1", registrar: "sip:127.0.0.1:37950", username: bot, password: "\${BOT_PASSWORD}" }]
media: { rtpAddress: 127.0.0.1, portMin: 37960, portMax: 37979, workers: 0 }
agents:
  profiles: [{ name: echo, instructions: Repeat what you hear., audioFormat: auto }]
  routes: []
trunks:
  - { name: pbx, registration: "sip:bot@127.0.0.1" }
`,
  { BOT_PASSWORD: 'botpass' },
);

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  for (const end = Date.now() + maxMs; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

t.test('a call through the registrar of our registration reaches a registered softphone', async (t) => {
  const kamailio = await startKamailio(t, 37950);
  const dir = baresipDir(t, { sipPort: 37952, rtpPort: 37980, toneSec: 1.5, silenceSec: 30 });
  writeFileSync(
    join(dir, 'accounts'),
    '<sip:bot2@127.0.0.1:37950>;auth_pass=bot2pass;regint=600;answermode=auto;audio_codecs=PCMU,PCMA\n',
  );
  const phone = runPeer(t, 'baresip', ['-f', dir, '-t', '40'], { timeoutMs: 50_000 });
  const app = await startGrokSip(config);
  t.teardown(() => app.stop());
  t.ok(
    await until(() => app.backend.registrations()[0]?.status === 'registered', 10_000),
    'grok-sip registered (digest)',
  );
  // baresip registers on its own time: until then the registrar answers 404 for bot2.
  let record: CallDetailRecord | undefined;
  let call: ReturnType<typeof app.placeCall> | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    call = app.placeCall({ to: 'bot2', trunk: 'pbx', agent: 'echo' });
    const answered = await Promise.race([
      until(() => call!.state === 'answered', 10_000),
      call.done.then((r) => {
        record = r;
        return false;
      }),
    ]);
    if (answered) break;
    t.equal(record?.sipStatus, 404, `attempt ${attempt}: not registered yet`);
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(call?.state, 'answered', 'baresip answered');
  const echoed = (): boolean => app.localAgent!.sent.some((s) => s.type === 'response.done');
  t.ok(await until(echoed, 15_000), 'the agent heard the tone and answered it');
  await new Promise((r) => setTimeout(r, 2500)); // the echo plays out before the BYE
  call!.hangup();
  const done = await call!.done;
  t.match(done, { trunk: 'pbx', from: 'sip:bot@127.0.0.1', endReason: 'api-hangup', sipStatus: 200 });
  t.match(kamailio.log(), /REQ INVITE sip:bot2@127\.0\.0\.1:37950/, 'the INVITE went to the registrar');
  await until(() => {
    const r = receivedTone(dir);
    return 'frequency' in r && Number.isFinite(r.frequency) && Number.isFinite(r.rms);
  }, 10_000);
  const heard = receivedTone(dir);
  t.ok(
    'frequency' in heard && heard.frequency > 550 && heard.frequency < 650,
    `baresip heard its tone back: ${JSON.stringify(heard)}`,
  );
  phone.child.kill('SIGTERM');
  await phone.done;
});

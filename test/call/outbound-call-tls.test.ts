// Outbound calls through a TLS trunk (issues 18 + 19): one grok-sip places calls through trunks
// that point at another grok-sip's TLS-only listener — once as a sips: proxy, once as
// sip: with transport tls. The callee's certificate is checked against the caller's ca; the
// callee's echo agent sends the caller's agent's greeting back, so RTP flows both ways.
// Ports: caller TLS 36801, RTP 36820-36839; callee TLS 36811, RTP 36840-36859.
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { makeTestPki } from '../sip/support/test-certificates.js';

t.setTimeout(60_000);

t.test('calls through a TLS trunk reach the callee over TLS and carry audio', async (t) => {
  const pki = makeTestPki(t);
  const caller = pki.issue('caller', 'IP:127.0.0.1');
  const callee = pki.issue('callee', 'IP:127.0.0.1');
  const calleeApp = await startGrokSip(
    parseConfig(
      `sip:
  listen: [{ transport: tls, address: 127.0.0.1, port: 36811, cert: '${callee.cert}', key: '${callee.key}' }]
media: { rtpAddress: 127.0.0.1, portMin: 36840, portMax: 36859, workers: 0 }
agents:
  profiles: [{ name: echo, instructions: Repeat. }]
  routes: [{ match: echo, agent: echo }]
`,
      {},
    ),
  );
  t.teardown(() => calleeApp.stop());
  const answered: string[] = [];
  calleeApp.events.on('call-ended', (r) => answered.push(`${r.sipStatus} ${r.endReason}`));
  const callerApp = await startGrokSip(
    parseConfig(
      `sip:
  listen: [{ transport: tls, address: 127.0.0.1, port: 36801, cert: '${caller.cert}', key: '${caller.key}', ca: '${pki.ca}' }]
media: { rtpAddress: 127.0.0.1, portMin: 36820, portMax: 36839, workers: 0 }
agents:
  profiles: [{ name: reminder, instructions: Remind., greeting: Hello. }]
  routes: []
trunks:
  - { name: sips, proxy: "sips:127.0.0.1:36811" }
  - { name: tls, proxy: "sip:127.0.0.1:36811", transport: tls }
`,
      {},
    ),
    {
      localAgent: {
        mode: 'scripted',
        script: { turns: [{ kind: 'say', text: 'greeting', durationMs: 1500 }] },
      },
    },
  );
  t.teardown(() => callerApp.stop());

  for (const trunk of ['sips', 'tls']) {
    const session = callerApp.placeCall({ to: 'echo', trunk, agent: 'reminder' });
    await new Promise((r) => setTimeout(r, 4500));
    session.hangup();
    const record = await session.done;
    t.match(
      record,
      { direction: 'outbound', trunk, sipStatus: 200, endReason: 'api-hangup' },
      `${trunk}: answered`,
    );
    t.ok(
      record.media !== undefined && record.media.packetsIn >= 10,
      `${trunk}: our greeting reached the callee and its echo came back (${record.media?.packetsIn} packets)`,
    );
  }
  for (let i = 0; i < 50 && answered.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  t.same(answered, ['200 remote-bye', '200 remote-bye'], 'the callee answered both and got our BYE over TLS');
});

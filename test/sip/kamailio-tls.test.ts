// Outbound SIP over TLS against Kamailio's TLS module: grok-sip registers over TLS (a sips:
// registrar and a ;transport=tls one, digest auth), SIPp calls the registered user through
// Kamailio, which reaches us over TLS; our BYE goes back along the Record-Route over TLS. A
// registrar whose certificate does not name the host we asked for is refused (RFC 5922 §7.2).
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';
import { startKamailio } from './support/kamailio.js';
import { until } from './support/raw-sip.js';
import { makeTestPki } from './support/test-certificates.js';

const SIPP_DIR = fileURLToPath(new URL('../../sip-config/sipp/', import.meta.url));
const KAM = 36200;
const KAM_TLS = 36201;
const EP = 36210;
const EP_TLS = 36211;

t.setTimeout(90_000);

t.test(
  'register over TLS, a call through Kamailio reaches us over TLS, our BYE returns over TLS',
  async (t) => {
    const pki = makeTestPki(t);
    const kamCert = pki.issue('kamailio', 'IP:127.0.0.1');
    const ours = pki.issue('grok-sip', 'IP:127.0.0.1');
    const kam = await startKamailio(t, KAM, { tls: { port: KAM_TLS, ...kamCert } });
    const backend = await startEndpoint(t, EP, {
      listen: [
        { transport: 'udp', address: '127.0.0.1', port: EP },
        { transport: 'tls', address: '127.0.0.1', port: EP_TLS, ...ours, ca: pki.ca },
      ],
      registrations: [
        {
          aor: 'sip:bot@127.0.0.1',
          registrar: `sips:127.0.0.1:${KAM_TLS}`,
          username: 'bot',
          password: 'botpass',
          expiresSec: 60,
        },
        {
          aor: 'sip:bot2@127.0.0.1',
          registrar: `sip:127.0.0.1:${KAM_TLS};transport=tls`,
          username: 'bot2',
          password: 'bot2pass',
          expiresSec: 60,
        },
      ],
    });
    await until(() => backend.registrations().every((r) => r.status === 'registered'), 10_000);
    t.same(
      backend.registrations().map((r) => [r.aor, r.status]),
      [
        ['sip:bot@127.0.0.1', 'registered'],
        ['sip:bot2@127.0.0.1', 'registered'],
      ],
      'both accounts registered over TLS',
    );
    t.match(
      kam.log(),
      /REQ REGISTER sips:127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+ \(tls\)/,
      'Kamailio saw REGISTER over TLS',
    );

    const log = answerCalls(backend, { hangupAfterMs: 300 });
    for (const [user, port] of [
      ['bot', EP + 2],
      ['bot2', EP + 3],
    ] as const) {
      const r = await runSipp(t, `127.0.0.1:${KAM}`, [
        '-sf',
        `${SIPP_DIR}uac_proxy_recv_bye.xml`,
        '-s',
        user,
        '-p',
        String(port),
        '-m',
        '1',
      ]);
      t.equal(
        r.code,
        0,
        `SIPp → Kamailio → grok-sip (${user}) and our BYE back: rc 0 ${r.stderr.slice(-300)}`,
      );
    }
    await until(() => log.ended.length === 2, 5000);
    t.same(
      log.calls.map((c) => [c.dialledUser, c.source.transport]),
      [
        ['bot', 'tls'],
        ['bot2', 'tls'],
      ],
      'both calls reached us over TLS',
    );
    t.match(
      log.calls[0]?.requestUri ?? '',
      /^sips:bot@/,
      'the sips: binding is called with a sips: Request-URI',
    );
    t.same(log.ended, ['local-bye', 'local-bye']);
    t.match(
      kam.log(),
      new RegExp(`REQ BYE sip:sipp@127\\.0\\.0\\.1:${EP + 2}.* from 127\\.0\\.0\\.1:\\d+ \\(tls\\)`),
      'our BYE reached Kamailio over TLS (Record-Route)',
    );
    await backend.stop();
    t.match(kam.log(), /REQ REGISTER .*\(tls\) expires=0/, 'un-REGISTER over TLS');
  },
);

t.test('a registrar whose certificate does not name the host is refused', async (t) => {
  const pki = makeTestPki(t);
  // Valid for 127.0.0.1 only; we ask for "localhost" (which resolves to 127.0.0.1).
  const kamCert = pki.issue('kamailio', 'IP:127.0.0.1');
  const ours = pki.issue('grok-sip', 'IP:127.0.0.1');
  const kam = await startKamailio(t, KAM + 50, { tls: { port: KAM_TLS + 50, ...kamCert } });
  const before = rejectedInputs.count('tls');
  const backend = await startEndpoint(t, EP + 50, {
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: EP + 50 },
      { transport: 'tls', address: '127.0.0.1', port: EP_TLS + 50, ...ours, ca: pki.ca },
    ],
    registrations: [
      {
        aor: 'sip:bot@127.0.0.1',
        registrar: `sips:localhost:${KAM_TLS + 50}`,
        username: 'bot',
        password: 'botpass',
        expiresSec: 60,
      },
    ],
    registrationRetryBaseMs: 60_000,
  });
  await until(() => backend.registrations()[0]?.status === 'failed', 10_000);
  const state = backend.registrations()[0];
  t.equal(state?.status, 'failed', `registration failed: ${state?.lastError ?? ''}`);
  t.equal(rejectedInputs.count('tls'), before + 1, 'the refused handshake is counted (kind tls)');
  t.notMatch(kam.log(), /REQ REGISTER/, 'no REGISTER reached the registrar');
});

// grok-sip registers with digest auth at Kamailio; SIPp calls the registered user through
// Kamailio; in-dialog requests follow Record-Route both ways; un-REGISTER on stop; a wrong
// password fails and is retried with backoff.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import type { RegistrationState } from '../../src/signaling/signaling-backend.js';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';
import { startKamailio } from './support/kamailio.js';
import { until } from './support/raw-sip.js';

const SIPP_DIR = fileURLToPath(new URL('../../sip-config/sipp/', import.meta.url));
const KAM = 17400;
const EP = 17410;

t.test('register, call through the registrar both ways, unregister', async (t) => {
  const kam = await startKamailio(t, KAM);
  const events: RegistrationState[] = [];
  const backend = await startEndpoint(
    t,
    EP,
    {
      registrations: [
        {
          aor: 'sip:bot@127.0.0.1',
          registrar: `sip:127.0.0.1:${KAM}`,
          username: 'bot',
          password: 'botpass',
          expiresSec: 60,
        },
        {
          aor: 'sip:bot2@127.0.0.1',
          registrar: `sip:127.0.0.1:${KAM};transport=tcp`,
          username: 'bot2',
          password: 'bot2pass',
          expiresSec: 60,
        },
      ],
    },
    (b) => b.events.on('registration', (s) => events.push(s)),
  );
  await until(() => backend.registrations().every((r) => r.status === 'registered'));
  t.same(
    backend.registrations().map((r) => [r.aor, r.status, r.expiresSec]),
    [
      ['sip:bot@127.0.0.1', 'registered', 60],
      ['sip:bot2@127.0.0.1', 'registered', 60],
    ],
    'both accounts registered (UDP and TCP registrar)',
  );
  t.ok(
    events.some((e) => e.status === 'registering'),
    'state changes are emitted',
  );

  const log = answerCalls(backend);
  const viaProxy = await runSipp(t, `127.0.0.1:${KAM}`, [
    '-sf',
    `${SIPP_DIR}uac_proxy.xml`,
    '-s',
    'bot',
    '-p',
    String(EP + 1),
    '-m',
    '2',
    '-r',
    '2',
  ]);
  t.equal(viaProxy.code, 0, `SIPp → Kamailio → grok-sip rc 0 ${viaProxy.stderr.slice(-300)}`, {
    sippErrors: viaProxy.errors,
  });
  t.same(
    log.calls.map((c) => c.dialledUser),
    ['bot', 'bot'],
    'the AOR user is the dialled user',
  );
  const tcpAccount = await runSipp(t, `127.0.0.1:${KAM}`, [
    '-sf',
    `${SIPP_DIR}uac_proxy.xml`,
    '-s',
    'bot2',
    '-p',
    String(EP + 2),
    '-m',
    '1',
  ]);
  t.equal(tcpAccount.code, 0, `call to the TCP-registered account rc 0 ${tcpAccount.stderr.slice(-300)}`);
  t.equal(log.calls.at(-1)?.source.transport, 'tcp', 'Kamailio reached us over TCP');

  const hangup = answerCalls(backend, { hangupAfterMs: 300 });
  const ourBye = await runSipp(t, `127.0.0.1:${KAM}`, [
    '-sf',
    `${SIPP_DIR}uac_proxy_recv_bye.xml`,
    '-s',
    'bot',
    '-p',
    String(EP + 3),
    '-m',
    '1',
  ]);
  t.equal(ourBye.code, 0, `our BYE came back through Kamailio rc 0 ${ourBye.stderr.slice(-300)}`);
  await until(() => hangup.ended.length === 1);
  t.match(
    kam.log(),
    new RegExp(`REQ BYE sip:sipp@127\\.0\\.0\\.1:${EP + 3}.* from 127\\.0\\.0\\.1:${EP} `),
    'BYE routed via the proxy (Record-Route)',
  );

  await backend.stop();
  t.same(
    backend.registrations().map((r) => r.status),
    ['unregistered', 'unregistered'],
  );
  t.match(kam.log(), /REQ REGISTER .* expires=0/, 'un-REGISTER sent with Expires: 0');
});

t.test('a wrong password fails and is retried with backoff', async (t) => {
  await startKamailio(t, KAM + 50);
  const backend = await startEndpoint(t, EP + 50, {
    registrations: [
      {
        aor: 'sip:bot@127.0.0.1',
        registrar: `sip:127.0.0.1:${KAM + 50}`,
        username: 'bot',
        password: 'wrong',
        expiresSec: 60,
      },
    ],
    registrationRetryBaseMs: 300,
  });
  const failures: RegistrationState[] = [];
  backend.events.on('registration', (s) => s.status === 'failed' && failures.push(s));
  await until(() => failures.length >= 2);
  t.ok(failures.length >= 2, 'failed, retried, failed again');
  t.match(failures[0]?.lastError ?? '', /^401/, 'last error says 401');
  t.ok((failures[0]?.nextAttemptAtMs ?? 0) > 0, 'next attempt time is visible');
});

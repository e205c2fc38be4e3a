// sip-config/examples/kamailio/dispatcher.cfg: the shipped file passes `kamailio -c`, and run for
// real (ports moved to this test's) it spreads SIPp calls round-robin over two grok-sip embedded
// backends, keeps ACK/BYE on the Record-Route path, and fails a call over when one instance is down.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startKamailio } from '../sip/support/kamailio.js';
import { runPeer, runSipp } from '../sip/support/run-peer.js';
import { answerCalls, startEndpoint, type Tap } from '../sip/support/sip-endpoint.js';

const EXAMPLES = fileURLToPath(new URL('../../sip-config/examples/kamailio/', import.meta.url));
const SIPP_DIR = fileURLToPath(new URL('../../sip-config/sipp/', import.meta.url));
const KAM = 19300;
const EP_A = 19310;
const EP_B = 19320;

t.test('the shipped dispatcher.cfg passes kamailio -c', async (t) => {
  const check = await runPeer(
    t,
    'kamailio',
    [
      '-c',
      '-f',
      join(EXAMPLES, 'dispatcher.cfg'),
      '-A',
      `DISPATCHER_LIST="${join(EXAMPLES, 'dispatcher.list')}"`,
    ],
    { timeoutMs: 20_000 },
  ).done;
  t.equal(check.code, 0, `kamailio -c exit 0 ${check.stderr.slice(-400)}`);
  t.match(check.stdout + check.stderr, /config file ok/);
  t.match(
    check.stdout + check.stderr,
    /udp: 127\.0\.0\.1 \[127\.0\.0\.1\]:5060/,
    'listens on 127.0.0.1:5060',
  );
});

t.test('a broken copy fails kamailio -c (the check can fail)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-kamcheck-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'dispatcher.cfg');
  writeFileSync(
    cfg,
    readFileSync(join(EXAMPLES, 'dispatcher.cfg'), 'utf8').replace('ds_select_dst(', 'ds_select_dsx('),
  );
  const check = await runPeer(t, 'kamailio', ['-c', '-f', cfg], { timeoutMs: 20_000 }).done;
  t.not(check.code, 0);
});

/** Runs the example with this test's ports and the list next to it; stopped in teardown. */
function startDispatcher(t: Tap): Promise<{ log(): string }> {
  return startKamailio(t, KAM, {
    cfg: join(EXAMPLES, 'dispatcher.cfg'),
    extraArgs: (dir) => {
      const list = join(dir, 'dispatcher.list');
      writeFileSync(
        list,
        readFileSync(join(EXAMPLES, 'dispatcher.list'), 'utf8')
          .replace('127.0.0.1:5070', `127.0.0.1:${EP_A}`)
          .replace('127.0.0.1:5080', `127.0.0.1:${EP_B}`),
      );
      return ['-A', `DISPATCHER_LIST="${list}"`];
    },
  });
}

t.test('round-robin over two instances, Record-Route, failover', async (t) => {
  const kam = await startDispatcher(t);
  const a = await startEndpoint(t, EP_A);
  const b = await startEndpoint(t, EP_B);
  const logA = answerCalls(a);
  const logB = answerCalls(b);

  const four = await runSipp(t, `127.0.0.1:${KAM}`, [
    '-sf',
    `${SIPP_DIR}uac_proxy.xml`,
    '-s',
    '4000',
    '-p',
    String(KAM + 1),
    '-m',
    '4',
    '-l',
    '1',
  ]);
  t.equal(
    four.code,
    0,
    `4 calls through the dispatcher rc 0 ${four.stderr.slice(-300)} ${kam.log().slice(-600)}`,
  );
  t.equal(logA.calls.length, 2, 'two calls on instance A');
  t.equal(logB.calls.length, 2, 'two calls on instance B');
  t.same(
    [...logA.calls, ...logB.calls].map((c) => c.dialledUser),
    ['4000', '4000', '4000', '4000'],
    'the dialled user reaches grok-sip unchanged',
  );
  t.same([...logA.ended, ...logB.ended].length, 4, 'every BYE came through the proxy to the instance');

  // Instance B goes away: the call that round-robin gives it times out (fr_timer 5 s) and lands on A.
  await b.stop();
  const failover = await runSipp(t, `127.0.0.1:${KAM}`, [
    '-sf',
    `${SIPP_DIR}uac_proxy.xml`,
    '-s',
    '4000',
    '-p',
    String(KAM + 2),
    '-m',
    '2',
    '-l',
    '1',
  ]);
  t.equal(failover.code, 0, `2 calls with B down rc 0 ${failover.stderr.slice(-300)}`);
  t.equal(logA.calls.length, 4, 'both went to A');
  t.equal(logB.calls.length, 2, 'none reached B');
  t.match(kam.log(), /failover -> sip:127\.0\.0\.1:19310/, 'the proxy logged the failover');
});

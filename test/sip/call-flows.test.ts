// The UAS call flows against SIPp scenarios from sip-config/sipp/: callee hang-up, CANCEL while
// ringing, no common codec, 503 past maxCalls, OPTIONS, and the built-in uac over TCP.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';

const SIPP_DIR = fileURLToPath(new URL('../../sip-config/sipp/', import.meta.url));
const scenario = (name: string): string => `${SIPP_DIR}${name}`;

t.test('the endpoint hangs up: BYE reaches SIPp and is answered', async (t) => {
  const port = 17020;
  const backend = await startEndpoint(t, port);
  const log = answerCalls(backend, { hangupAfterMs: 300 });
  const r = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('uac_recv_bye.xml'),
    '-s',
    '100',
    '-p',
    String(port + 1),
    '-m',
    '3',
    '-r',
    '3',
  ]);
  t.equal(r.code, 0, `sipp rc 0 ${r.stderr.slice(-300)}`);
  await until(() => log.ended.length === 3);
  t.same(log.ended, ['local-bye', 'local-bye', 'local-bye']);
  t.equal(backend.activeCalls, 0);
});

t.test('CANCEL while ringing: 200 for the CANCEL, 487 for the INVITE, handler told', async (t) => {
  const port = 17030;
  const backend = await startEndpoint(t, port);
  const log = answerCalls(backend, { answerDelayMs: 3000 });
  const r = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('uac_cancel.xml'),
    '-s',
    '100',
    '-p',
    String(port + 1),
    '-m',
    '2',
    '-r',
    '2',
  ]);
  t.equal(r.code, 0, `sipp rc 0 ${r.stderr.slice(-300)}`);
  t.equal(log.cancelled, 2, 'cancel event per call');
  t.equal(log.dialogs.length, 0, 'no dialog established');
  await until(() => backend.activeCalls === 0);
  t.equal(backend.activeCalls, 0);
});

t.test('no common codec: 488', async (t) => {
  const port = 17040;
  const backend = await startEndpoint(t, port);
  const log = answerCalls(backend);
  const r = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('uac_no_common_codec.xml'),
    '-s',
    '100',
    '-p',
    String(port + 1),
    '-m',
    '1',
  ]);
  t.equal(r.code, 0, `sipp rc 0 ${r.stderr.slice(-300)}`);
  t.equal(log.calls.length, 1);
  t.equal(log.dialogs.length, 0);
});

t.test('past maxCalls: 503 with Retry-After, handler not called', async (t) => {
  const port = 17050;
  const backend = await startEndpoint(t, port, { maxCalls: 1 });
  const log = answerCalls(backend);
  // One call held for 4 s by the built-in uac, then a second caller expecting 503.
  const held = runSipp(t, `127.0.0.1:${port}`, [
    '-sn',
    'uac',
    '-s',
    '1',
    '-p',
    String(port + 1),
    '-m',
    '1',
    '-d',
    '4000',
  ]);
  await until(() => log.dialogs.length === 1);
  const r = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('uac_expect_503.xml'),
    '-s',
    '2',
    '-p',
    String(port + 2),
    '-m',
    '1',
  ]);
  t.equal(r.code, 0, `503 scenario rc 0 ${r.stderr.slice(-300)}`);
  t.equal((await held).code, 0, 'held call completed');
  t.equal(log.calls.length, 1, 'only the first call reached the handler');
});

t.test('OPTIONS is answered 200 (UDP with rport, and TCP)', async (t) => {
  const port = 17060;
  await startEndpoint(t, port);
  const udp = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('options.xml'),
    '-s',
    'anyone',
    '-p',
    String(port + 1),
    '-m',
    '3',
  ]);
  t.equal(udp.code, 0, `udp rc 0 ${udp.stderr.slice(-300)}`);
  const tcp = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('options.xml'),
    '-s',
    'anyone',
    '-t',
    't1',
    '-p',
    String(port + 2),
    '-m',
    '3',
  ]);
  t.equal(tcp.code, 0, `tcp rc 0 ${tcp.stderr.slice(-300)}`);
});

t.test('SIPp uac over TCP, one connection, and callee BYE over TCP', async (t) => {
  const port = 17070;
  const backend = await startEndpoint(t, port);
  const log = answerCalls(backend);
  const r = await runSipp(t, `127.0.0.1:${port}`, [
    '-sn',
    'uac',
    '-t',
    't1',
    '-s',
    '555',
    '-p',
    String(port + 1),
    '-m',
    '10',
    '-r',
    '10',
    '-d',
    '300',
  ]);
  t.equal(r.code, 0, `sipp rc 0 ${r.stderr.slice(-300)}`);
  t.equal(log.calls.length, 10);
  t.ok(
    log.calls.every((c) => c.source.transport === 'tcp'),
    'calls came over TCP',
  );
  const log2 = answerCalls(backend, { hangupAfterMs: 200 });
  const r2 = await runSipp(t, `127.0.0.1:${port}`, [
    '-sf',
    scenario('uac_recv_bye.xml'),
    '-t',
    't1',
    '-s',
    '100',
    '-p',
    String(port + 2),
    '-m',
    '2',
    '-r',
    '2',
  ]);
  t.equal(r2.code, 0, `callee-BYE over TCP rc 0 ${r2.stderr.slice(-300)}`);
  await until(() => log2.ended.length === 2);
  t.same(log2.ended, ['local-bye', 'local-bye']);
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond() && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 50));
}

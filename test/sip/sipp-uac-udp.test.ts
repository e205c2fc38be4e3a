// SIPp's built-in uac over UDP calls the embedded backend: INVITE/100/180/200/ACK, BYE from SIPp.
import t from 'tap';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';

const PORT = 17000;

t.test('SIPp uac over UDP completes every call, any R-URI user', async (t) => {
  const backend = await startEndpoint(t, PORT);
  const log = answerCalls(backend);
  const r = await runSipp(t, `127.0.0.1:${PORT}`, [
    '-sn',
    'uac',
    '-s',
    '4711',
    '-p',
    String(PORT + 1),
    '-m',
    '5',
    '-r',
    '5',
    '-d',
    '500',
  ]);
  t.equal(r.code, 0, `sipp rc 0 (stderr: ${r.stderr.slice(-400)})`);
  t.equal(log.calls.length, 5, 'five calls reached the handler');
  t.ok(
    log.calls.every((c) => c.dialledUser === '4711'),
    'dialled user is the R-URI user',
  );
  t.ok(
    log.calls.every((c) => c.source.transport === 'udp' && c.source.port === PORT + 1),
    'source is SIPp',
  );
  t.same(log.ended, ['remote-bye', 'remote-bye', 'remote-bye', 'remote-bye', 'remote-bye']);
  t.equal(backend.activeCalls, 0, 'no call left up');
});

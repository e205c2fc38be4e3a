// Load: 200 calls at 20 calls/s from SIPp's built-in uac (2 s each, ~40 up at once); every call
// must complete. The wall time is printed, not asserted.
import t from 'tap';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';

const PORT = 17300;

t.test('200 calls at 20 cps all complete', async (t) => {
  const backend = await startEndpoint(t, PORT);
  const log = answerCalls(backend);
  const startMs = Date.now();
  const r = await runSipp(
    t,
    `127.0.0.1:${PORT}`,
    ['-sn', 'uac', '-s', '2000', '-p', String(PORT + 1), '-r', '20', '-m', '200', '-l', '100', '-d', '2000'],
    { timeoutSec: 60 },
  );
  const wallMs = Date.now() - startMs;
  t.comment(`200 calls at 20 cps: ${(wallMs / 1000).toFixed(1)} s wall`);
  t.equal(r.code, 0, `sipp rc 0 (all calls successful) ${r.stderr.slice(-300)}`);
  t.equal(log.calls.length, 200);
  t.equal(log.ended.filter((e) => e === 'remote-bye').length, 200, 'every call ended by SIPp BYE');
  t.equal(backend.activeCalls, 0);
});

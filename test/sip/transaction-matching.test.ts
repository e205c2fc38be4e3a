// RFC 3261 §17.2.3 server transaction matching on the embedded backend (sip.js alone keys on the
// Via branch): a request matches a transaction only with the same branch, sent-by and method
// (ACK and CANCEL matched to their INVITE); we also keep Call-ID and CSeq in the key, so two
// different requests reusing a branch are never merged. And the lost-ACK-then-BYE call, which
// killed the process 64*T1 later from a sip.js timer.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Core } from 'sip.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, statusOf } from './support/raw-sip.js';

const PORT = 21040;

const finals = (peer: UdpPeer, callId: string): number[] =>
  peer.received.filter((m) => header(m, 'Call-ID') === callId && statusOf(m) >= 200).map(statusOf);

t.test(
  'one branch, another method or sent-by or Call-ID: separate transactions, each answered',
  async (t) => {
    const backend = await startEndpoint(t, PORT);
    const log = answerCalls(backend);
    const peer = await UdpPeer.open(t);
    const uri = `sip:echo@127.0.0.1:${PORT}`;
    const branch = 'z9hG4bK-shared-1';
    // An INVITE, then an OPTIONS on the same branch and sent-by (another method).
    peer.send(
      request(
        { method: 'INVITE', uri, branch, callId: 'tm-inv', cseq: 1, rport: true, body: offer('g711') },
        peer.port,
      ),
      PORT,
    );
    await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-inv' && statusOf(m) === 200);
    peer.send(
      request({ method: 'OPTIONS', uri, branch, callId: 'tm-opt', cseq: 1, rport: true }, peer.port),
      PORT,
    );
    // The same branch and method from another sent-by.
    peer.send(
      request(
        { method: 'OPTIONS', uri, branch, callId: 'tm-opt2', cseq: 1, rport: true, sentBy: '127.0.0.1:1' },
        peer.port,
      ),
      PORT,
    );
    // The same branch, method and sent-by but another Call-ID (a broken client, RFC 4475's pairs).
    peer.send(
      request({ method: 'OPTIONS', uri, branch, callId: 'tm-opt3', cseq: 1, rport: true }, peer.port),
      PORT,
    );
    await sleep(500);
    t.same(finals(peer, 'tm-opt'), [200], 'OPTIONS on the INVITE branch answered (another method)');
    t.same(finals(peer, 'tm-opt2'), [200], 'OPTIONS from another sent-by answered');
    t.same(finals(peer, 'tm-opt3'), [200], 'OPTIONS with another Call-ID answered');
    t.equal(log.calls.length, 1, 'one call');
    // A true retransmission of the INVITE is absorbed by its transaction, not a second call.
    peer.send(
      request(
        { method: 'INVITE', uri, branch, callId: 'tm-inv', cseq: 1, rport: true, body: offer('g711') },
        peer.port,
      ),
      PORT,
    );
    await sleep(300);
    t.equal(log.calls.length, 1, 'a retransmitted INVITE is not a new call');
    // Two INVITEs with one branch from two sent-bys are two calls.
    for (const sentBy of ['127.0.0.1:11', '127.0.0.1:12']) {
      peer.send(
        request(
          {
            method: 'INVITE',
            uri,
            branch: 'z9hG4bK-shared-2',
            callId: `tm-${sentBy}`,
            cseq: 1,
            rport: true,
            sentBy,
            body: offer('g711'),
          },
          peer.port,
        ),
        PORT,
      );
    }
    await sleep(500);
    t.equal(log.calls.length, 3, 'INVITEs sharing a branch from two sent-bys are two calls');
    t.equal(
      peer.received.filter((m) => statusOf(m) === 200 && / INVITE$/m.test(header(m, 'CSeq') ?? '')).length >=
        3,
      true,
    );
    for (const m of peer.received) {
      const via = header(m, 'Via') ?? '';
      if (/~gs/.test(via)) t.fail(`our internal branch key leaked into a response: ${via}`);
    }
  },
);

t.test('ACK and CANCEL match their INVITE by branch and sent-by', async (t) => {
  const backend = await startEndpoint(t, PORT + 1);
  backend.onIncomingCall((call) => {
    call.progress();
    if (call.callId === 'tm-busy') call.reject(486);
    // 'tm-ring' rings until cancelled.
  });
  const peer = await UdpPeer.open(t);
  const uri = `sip:echo@127.0.0.1:${PORT + 1}`;
  // Timer G: a 486 is retransmitted until the ACK with the INVITE's branch and sent-by arrives.
  const busy = { uri, branch: 'z9hG4bK-busy', callId: 'tm-busy', cseq: 1, rport: true };
  peer.send(request({ ...busy, method: 'INVITE', body: offer('g711') }, peer.port), PORT + 1);
  await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-busy' && statusOf(m) === 486);
  peer.send(
    request(
      {
        ...busy,
        method: 'ACK',
        toTag:
          /tag=([^;\s]+)/.exec(
            header(
              peer.received.find((m) => statusOf(m) === 486)!,
              'To',
            ) ?? '',
          )?.[1] ?? '',
      },
      peer.port,
    ),
    PORT + 1,
  );
  await sleep(2000);
  t.equal(finals(peer, 'tm-busy').length, 1, 'the ACK stopped Timer G: one 486, no retransmissions');
  // CANCEL from another sent-by matches nothing: 481; from the INVITE's own: 200 + 487.
  const ring = { uri, branch: 'z9hG4bK-ring', callId: 'tm-ring', cseq: 1, rport: true };
  peer.send(request({ ...ring, method: 'INVITE', body: offer('g711') }, peer.port), PORT + 1);
  await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-ring' && statusOf(m) === 180);
  peer.send(request({ ...ring, method: 'CANCEL', sentBy: '127.0.0.1:9' }, peer.port), PORT + 1);
  await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-ring' && statusOf(m) === 481);
  t.ok(finals(peer, 'tm-ring').includes(481), 'CANCEL from another sent-by: 481');
  t.notOk(finals(peer, 'tm-ring').includes(487), 'the INVITE is still ringing');
  peer.send(request({ ...ring, method: 'CANCEL' }, peer.port), PORT + 1);
  await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-ring' && statusOf(m) === 487);
  const got = finals(peer, 'tm-ring');
  t.ok(got.includes(200) && got.includes(487), `CANCEL matched: 200 and 487 (${got.join(', ')})`);
});

t.test('a call whose ACK is lost and which the caller ends with BYE: no crash at Timer L', async (t) => {
  const backend = await startEndpoint(t, PORT + 2);
  answerCalls(backend);
  const timers = Core.Timers as { -readonly [K in keyof typeof Core.Timers]: number };
  const timerL = timers.TIMER_L;
  timers.TIMER_L = 1500; // 64*T1 = 32 s in production; the same code path, sooner
  t.teardown(() => {
    timers.TIMER_L = timerL;
  });
  const stackBefore = rejectedInputs.count('sip-stack');
  const peer = await UdpPeer.open(t);
  const uri = `sip:echo@127.0.0.1:${PORT + 2}`;
  const call = { uri, callId: 'tm-noack', rport: true };
  peer.send(
    request({ ...call, method: 'INVITE', branch: 'z9hG4bK-noack', cseq: 1, body: offer('g711') }, peer.port),
    PORT + 2,
  );
  const [ok] = await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-noack' && statusOf(m) === 200);
  t.ok(ok, '200 OK (we never ACK it)');
  const toTag = /tag=([^;\s]+)/.exec(header(ok!, 'To') ?? '')?.[1] ?? '';
  peer.send(
    request({ ...call, method: 'BYE', branch: 'z9hG4bK-noack-bye', cseq: 2, toTag }, peer.port),
    PORT + 2,
  );
  await peer.waitFor((m) => header(m, 'Call-ID') === 'tm-noack' && / BYE$/.test(header(m, 'CSeq') ?? ''));
  // Timer L fires, the transaction terminates and sip.js calls onAckTimeout on the ended session.
  await sleep(3000);
  t.equal(
    rejectedInputs.count('sip-stack'),
    stackBefore,
    'nothing thrown (the root cause is fixed, not only caught)',
  );
  t.pass('the process survived Timer L');
});

// The UDP reliability sip.js 0.21.2 leaves out and we add (docs/embedded-sip.md T7, G1; K4 said no
// test would notice either switched off): our requests are retransmitted when the peer stays silent
// (Timer A for INVITE, Timer E for BYE; RFC 3261 §17.1.1.2, §17.1.2.2), and the server and client
// transactions stay long enough to absorb retransmissions (Timer J: a retransmitted BYE gets the
// same 200 again, §17.2.2; Timer D: a retransmitted 486 to our INVITE is ACKed again, §17.1.1.2).
// A hand-written UDP peer plays the lossy side.
import t from 'tap';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, responseTo, statusOf } from './support/raw-sip.js';

const PORT = 17580;

const branchOf = (m: string): string => /;branch=([^;\s]+)/.exec(header(m, 'Via') ?? '')?.[1] ?? '';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test(
  'Timers A and E: our INVITE and BYE are sent again to a silent peer, and stop once answered',
  async (t) => {
    const backend = await startEndpoint(t, PORT);
    const callee = await UdpPeer.open(t);
    const placing = backend.placeCall({
      target: `sip:bob@127.0.0.1:${callee.port}`,
      offerSdp: offer('g711'),
      timeoutMs: 10_000,
    });
    // Silent for 1.8 s: the INVITE goes at 0, 0.5 and 1.5 s (T1 doubling).
    await sleep(1800);
    const invites = callee.received.filter((m) => m.startsWith('INVITE '));
    t.ok(invites.length >= 3, `the INVITE was sent ${invites.length} times in 1.8 s (Timer A)`);
    t.equal(new Set(invites.map(branchOf)).size, 1, 'each a retransmission: one branch');
    callee.send(
      responseTo(
        invites[0]!,
        '200 OK',
        [`Contact: <sip:bob@127.0.0.1:${callee.port}>`, 'Content-Type: application/sdp'],
        offer('g711'),
      ),
      PORT,
    );
    const placed = await placing;
    const [ack] = await callee.waitFor((m) => m.startsWith('ACK '));
    t.ok(ack, 'the 200 was ACKed');
    const sentBefore = callee.received.filter((m) => m.startsWith('INVITE ')).length;
    await sleep(2500);
    t.equal(
      callee.received.filter((m) => m.startsWith('INVITE ')).length,
      sentBefore,
      'no INVITE after the answer',
    );

    // Our BYE: the first copy is "lost" (not answered); Timer E sends it again after T1.
    const hangup = placed.dialog.hangup();
    const byes = await callee.waitFor((m) => m.startsWith('BYE '), 2, 3000);
    t.equal(byes.length, 2, 'the unanswered BYE was sent again (Timer E)');
    t.equal(branchOf(byes[0] ?? ''), branchOf(byes[1] ?? ''), 'as a retransmission');
    callee.send(responseTo(byes[1]!, '200 OK'), PORT);
    await hangup;
    const count = callee.received.filter((m) => m.startsWith('BYE ')).length;
    await sleep(1500);
    t.equal(callee.received.filter((m) => m.startsWith('BYE ')).length, count, 'no BYE after its 200');
  },
);

t.test('Timer J: a BYE sent again (our 200 lost) gets the same 200, not 481', async (t) => {
  const backend = await startEndpoint(t, PORT + 1);
  answerCalls(backend);
  const caller = await UdpPeer.open(t);
  const uri = `sip:77@127.0.0.1:${PORT + 1}`;
  const base = { uri, callId: 'timer-j' };
  caller.send(
    request({ ...base, method: 'INVITE', branch: 'z9hG4bK-tj-1', cseq: 1, body: offer('g711') }, caller.port),
    PORT + 1,
  );
  const [ok] = await caller.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/.test(m));
  const toTag = /;tag=([^;\s>]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1];
  t.ok(toTag, 'the call was answered');
  caller.send(
    request({ ...base, method: 'ACK', branch: 'z9hG4bK-tj-a', cseq: 1, toTag }, caller.port),
    PORT + 1,
  );
  await sleep(200);
  const bye = request({ ...base, method: 'BYE', branch: 'z9hG4bK-tj-bye', cseq: 2, toTag }, caller.port);
  caller.send(bye, PORT + 1);
  const first = await caller.waitFor((m) => /CSeq: 2 BYE/.test(m));
  t.equal(statusOf(first[0] ?? ''), 200, '200 to the BYE');
  await sleep(700);
  caller.send(bye, PORT + 1);
  const answers = await caller.waitFor((m) => /CSeq: 2 BYE/.test(m), 2);
  t.same(
    answers.map(statusOf),
    [200, 200],
    'the retransmitted BYE gets 200 again (the transaction is still there)',
  );
});

t.test('Timer D: a 486 sent again (our ACK lost) is ACKed again', async (t) => {
  const backend = await startEndpoint(t, PORT + 2);
  const callee = await UdpPeer.open(t);
  const placing = backend.placeCall({
    target: `sip:busy@127.0.0.1:${callee.port}`,
    offerSdp: offer('g711'),
    timeoutMs: 5000,
  });
  const [invite] = await callee.waitFor((m) => m.startsWith('INVITE '));
  const busy = responseTo(invite!, '486 Busy Here');
  callee.send(busy, PORT + 2);
  await placing.then(
    () => t.fail('a busy callee does not give a call'),
    () => t.pass('the call failed with the 486'),
  );
  await callee.waitFor((m) => m.startsWith('ACK '));
  await sleep(300);
  callee.send(busy, PORT + 2);
  const acks = await callee.waitFor((m) => m.startsWith('ACK '), 2, 3000);
  t.equal(acks.length, 2, 'the retransmitted 486 was ACKed again (the client transaction is still there)');
});

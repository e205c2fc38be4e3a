// Several UDP listeners (two ports, or IPv4 + IPv6): a call is answered, and hung up by us, through
// the listener it came in on — our Contact names that port (and, for the IPv6 listener, its
// address), and our BYE leaves from that socket, even after the same peer sent another call to
// another port; a call we place to an IPv6 peer leaves from the IPv6 listener and completes.
import t, { type Test } from 'tap';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, responseTo, statusOf, until } from './support/raw-sip.js';

async function callAndLetUsHangUp(
  t: Test,
  peer: UdpPeer,
  listenerPort: number,
  host: string,
  callId: string,
): Promise<{ ok: string; bye: string; byeSourcePort: number }> {
  const uri = `sip:77@${host}:${listenerPort}`;
  peer.send(
    request(
      {
        method: 'INVITE',
        uri,
        branch: `z9hG4bK-${callId}-1`,
        callId,
        cseq: 1,
        host: peer.address === '::1' ? '[::1]' : '127.0.0.1',
        body: offer('g711'),
      },
      peer.port,
    ),
    listenerPort,
  );
  const [ok] = await peer.waitFor(
    (m) => statusOf(m) === 200 && /CSeq: 1 INVITE/i.test(m) && m.includes(`Call-ID: ${callId}`),
  );
  t.ok(ok, '200 to the INVITE');
  const toTag = /;tag=([^;\s>]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1];
  peer.send(
    request(
      {
        method: 'ACK',
        uri,
        branch: `z9hG4bK-${callId}-ack`,
        callId,
        cseq: 1,
        toTag,
        host: peer.address === '::1' ? '[::1]' : '127.0.0.1',
      },
      peer.port,
    ),
    listenerPort,
  );
  const [bye] = await peer.waitFor((m) => m.startsWith('BYE ') && m.includes(`Call-ID: ${callId}`), 1, 5000);
  const index = peer.received.indexOf(bye ?? '');
  if (bye !== undefined) peer.send(okFor(bye), listenerPort);
  return { ok: ok ?? '', bye: bye ?? '', byeSourcePort: index >= 0 ? peer.sourcePorts[index]! : -1 };
}

/** 200 OK to a request (support/raw-sip.ts responseTo). */
const okFor = (req: string, extra: string[] = [], body = ''): string =>
  responseTo(req, '200 OK', extra, body);

t.test('two UDP ports: each call stays on the port it came in on', async (t) => {
  const [first, second] = [19330, 19331];
  const backend = await startEndpoint(t, first, {
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: first },
      { transport: 'udp', address: '127.0.0.1', port: second },
    ],
  });
  const log = answerCalls(backend, { hangupAfterMs: 600 });
  const peer = await UdpPeer.open(t);
  // Call A on the second port, then call B from the same peer on the first: A's BYE must still
  // leave from (and name) the second port.
  const a = callAndLetUsHangUp(t, peer, second, '127.0.0.1', 'two-ports-a');
  await new Promise((r) => setTimeout(r, 100));
  const b = callAndLetUsHangUp(t, peer, first, '127.0.0.1', 'two-ports-b');
  const [callA, callB] = await Promise.all([a, b]);
  t.match(header(callA.ok, 'Contact') ?? '', `@127.0.0.1:${second}>`, "A's Contact: the port it came in on");
  t.equal(callA.byeSourcePort, second, "A's BYE left from that port, after B came in on the other");
  t.match(header(callA.bye, 'Via') ?? '', `SIP/2.0/UDP 127.0.0.1:${second}`, 'and its Via names it');
  t.match(header(callB.ok, 'Contact') ?? '', `@127.0.0.1:${first}>`, "B's Contact: its own port");
  t.equal(callB.byeSourcePort, first, "B's BYE from its own port");
  await until(() => log.ended.length === 2);
  t.same(log.ended, ['local-bye', 'local-bye'], 'both calls ended by our BYE');
});

t.test('IPv4 + IPv6 listeners: an IPv6 caller is answered and hung up over IPv6', async (t) => {
  const [v4, v6] = [19332, 19333];
  const backend = await startEndpoint(t, v4, {
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: v4 },
      { transport: 'udp', address: '::1', port: v6 },
    ],
  });
  const log = answerCalls(backend, { hangupAfterMs: 300 });
  const peer = await UdpPeer.open(t, '::1');
  const { ok, bye, byeSourcePort } = await callAndLetUsHangUp(t, peer, v6, '[::1]', 'dual-stack');
  t.match(header(ok, 'Contact') ?? '', `@[::1]:${v6}>`, 'our Contact is our IPv6 address and port');
  t.ok(bye, 'our BYE reached the IPv6 peer (a udp4 socket cannot send to ::1)');
  t.equal(byeSourcePort, v6, 'from the IPv6 listener');
  t.match(header(bye, 'Via') ?? '', `SIP/2.0/UDP [::1]:${v6}`, 'its Via names our IPv6 address');
  await until(() => log.ended.length === 1);
  t.same(log.ended, ['local-bye'], 'the call ended by our BYE');

  // An IPv4 caller on the same endpoint still gets IPv4 in Contact.
  const peer4 = await UdpPeer.open(t);
  const four = await callAndLetUsHangUp(t, peer4, v4, '127.0.0.1', 'dual-stack-v4');
  t.match(header(four.ok, 'Contact') ?? '', `@127.0.0.1:${v4}>`);
  t.equal(four.byeSourcePort, v4);

  // A call we place to an IPv6 peer: INVITE from the IPv6 listener, and its 200 completes it.
  const callee = await UdpPeer.open(t, '::1');
  const placing = backend.placeCall({
    target: `sip:bob@[::1]:${callee.port}`,
    offerSdp: offer('g711'),
    timeoutMs: 4000,
  });
  const [invite] = await callee.waitFor((m) => m.startsWith('INVITE '));
  t.ok(invite, 'our INVITE reached the IPv6 callee');
  t.equal(callee.sourcePorts[callee.received.indexOf(invite ?? '')], v6, 'from the IPv6 listener');
  t.match(header(invite ?? '', 'Via') ?? '', `SIP/2.0/UDP [::1]:${v6}`);
  t.match(
    header(invite ?? '', 'Contact') ?? '',
    `@[::1]:${v6}`,
    'its Contact names our listener and port (sip.js writes <sip:user@host;ob>, no port)',
  );
  callee.send(
    okFor(
      invite ?? '',
      [`Contact: <sip:bob@[::1]:${callee.port}>`, 'Content-Type: application/sdp'],
      offer('g711'),
    ),
    v6,
  );
  const placed = await placing;
  t.ok(
    placed.setupMs >= 0,
    'the 200 from the IPv6 callee completed our call (sip.js took it: Via host restored)',
  );
  const [ack] = await callee.waitFor((m) => m.startsWith('ACK '));
  t.ok(ack, 'and it was ACKed');
  const hangup = placed.dialog.hangup();
  const [ourBye] = await callee.waitFor((m) => m.startsWith('BYE '));
  callee.send(okFor(ourBye ?? ''), v6);
  await hangup;
});

// K2 (docs/embedded-sip.md): an IPv6 advertised address (here the only listener's, ::1) is written
// bracketed wherever sip.js puts it — Via, From, Contact — so our own requests parse and go out.
t.test('IPv6 only (advertised ::1): calls in and out, every URI and Via bracketed', async (t) => {
  const port = 19334;
  const backend = await startEndpoint(t, port, {
    listen: [{ transport: 'udp', address: '::1', port }],
  });
  const log = answerCalls(backend, { hangupAfterMs: 300 });
  const peer = await UdpPeer.open(t, '::1');
  const { ok, bye, byeSourcePort } = await callAndLetUsHangUp(t, peer, port, '[::1]', 'v6-only-in');
  t.match(header(ok, 'Contact') ?? '', `@[::1]:${port}>`, 'our Contact: bracketed address and port');
  t.equal(byeSourcePort, port, 'our BYE left from the listener');
  t.match(header(bye, 'Via') ?? '', `SIP/2.0/UDP [::1]:${port}`, 'its Via is bracketed');
  t.match(header(bye, 'From') ?? '', /@\[::1\]/, 'its From is bracketed');
  await until(() => log.ended.length === 1);
  t.same(log.ended, ['local-bye']);

  const callee = await UdpPeer.open(t, '::1');
  const placing = backend.placeCall({
    target: `sip:bob@[::1]:${callee.port}`,
    offerSdp: offer('g711'),
    timeoutMs: 4000,
  });
  const [invite] = await callee.waitFor((m) => m.startsWith('INVITE '));
  t.ok(invite, 'our INVITE went out (it was a 503 without a datagram before)');
  t.match(header(invite ?? '', 'Via') ?? '', `SIP/2.0/UDP [::1]:${port}`);
  t.match(header(invite ?? '', 'From') ?? '', /<sip:[^@>]+@\[::1\]>/, 'From: bracketed');
  t.match(header(invite ?? '', 'Contact') ?? '', `@[::1]:${port}`, 'Contact: bracketed, with our port');
  callee.send(
    okFor(
      invite ?? '',
      [`Contact: <sip:bob@[::1]:${callee.port}>`, 'Content-Type: application/sdp'],
      offer('g711'),
    ),
    port,
  );
  const placed = await placing;
  t.ok(placed.setupMs >= 0, "the callee's 200 completed the call");
  const [ack] = await callee.waitFor((m) => m.startsWith('ACK '));
  t.ok(ack, 'and it was ACKed');
  const hangup = placed.dialog.hangup();
  const [ourBye] = await callee.waitFor((m) => m.startsWith('BYE '));
  t.ok(ourBye, 'our BYE reached the callee');
  callee.send(okFor(ourBye ?? ''), port);
  await hangup;
});

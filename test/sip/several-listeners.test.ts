// Several UDP listeners (two ports, or IPv4 + IPv6): a call is answered, and hung up by us, through
// the listener it came in on — our Contact names that port (and, for the IPv6 listener, its
// address), and our BYE leaves from that socket, so a peer that only talks to one of our
// addresses (a PBX trunk pointed at one port, an IPv6-only peer) keeps reaching us.
import t, { type Test } from 'tap';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, statusOf, until } from './support/raw-sip.js';

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
  const [ok] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/i.test(m));
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
  const [bye] = await peer.waitFor((m) => m.startsWith('BYE '), 1, 5000);
  const index = peer.received.indexOf(bye ?? '');
  if (bye !== undefined) peer.send(okFor(bye), listenerPort);
  return { ok: ok ?? '', bye: bye ?? '', byeSourcePort: index >= 0 ? peer.sourcePorts[index]! : -1 };
}

/** 200 OK to a request: its Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6.2). */
function okFor(req: string): string {
  const copy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(req, h) ?? ''}`);
  return ['SIP/2.0 200 OK', ...copy, 'Content-Length: 0', '', ''].join('\r\n');
}

t.test('two UDP ports: the call stays on the port it came in on', async (t) => {
  const [first, second] = [19330, 19331];
  const backend = await startEndpoint(t, first, {
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: first },
      { transport: 'udp', address: '127.0.0.1', port: second },
    ],
  });
  const log = answerCalls(backend, { hangupAfterMs: 300 });
  const peer = await UdpPeer.open(t);
  const { ok, bye, byeSourcePort } = await callAndLetUsHangUp(t, peer, second, '127.0.0.1', 'two-ports');
  t.match(
    header(ok, 'Contact') ?? '',
    `@127.0.0.1:${second}>`,
    'our Contact names the port the call came in on',
  );
  t.ok(bye, 'our BYE arrived');
  t.equal(byeSourcePort, second, 'and left from that port');
  t.match(header(bye, 'Via') ?? '', `SIP/2.0/UDP 127.0.0.1:${second}`, 'its Via names that port');
  await until(() => log.ended.length === 1);
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
  t.same(log.ended, ['local-bye']);

  // An IPv4 caller on the same endpoint still gets IPv4 in Contact.
  const peer4 = await UdpPeer.open(t);
  const four = await callAndLetUsHangUp(t, peer4, v4, '127.0.0.1', 'dual-stack-v4');
  t.match(header(four.ok, 'Contact') ?? '', `@127.0.0.1:${v4}>`);
  t.equal(four.byeSourcePort, v4);
});

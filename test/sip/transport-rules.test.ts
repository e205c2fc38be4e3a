// Transport rules checked on the wire with a hand-written peer: retransmission handling
// (RFC 3261 §17.2.1 Timer G, §13.3.1.4 2xx), rport/received (RFC 3581), TCP framing (§18.3).
import t from 'tap';
import { SipStreamFramer } from '../../src/signaling/embedded/tcp-framing.js';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, statusOf, tcpConnect, until } from './support/raw-sip.js';

t.test('a retransmitted INVITE gets the 200 again, and the call is one call', async (t) => {
  const port = 17100;
  const backend = await startEndpoint(t, port);
  const log = answerCalls(backend);
  const peer = await UdpPeer.open(t);
  const invite = request(
    {
      method: 'INVITE',
      uri: `sip:77@127.0.0.1:${port}`,
      branch: 'z9hG4bK-retx-1',
      callId: 'retx-1',
      cseq: 1,
      body: offer('g711'),
    },
    peer.port,
  );
  peer.send(invite, port);
  const first = await peer.waitFor((m) => statusOf(m) === 200);
  t.equal(first.length, 1, 'first 200');
  peer.send(invite, port);
  const again = await peer.waitFor((m) => statusOf(m) === 200, 2);
  t.ok(again.length >= 2, '200 sent again for the retransmitted INVITE');
  t.equal(log.calls.length, 1, 'the retransmission is not a second call');
  const toTag = /;tag=([^;\s]+)/.exec(header(first[0]!, 'To') ?? '')?.[1];
  peer.send(
    request(
      {
        method: 'ACK',
        uri: `sip:77@127.0.0.1:${port}`,
        branch: 'z9hG4bK-retx-ack',
        callId: 'retx-1',
        cseq: 1,
        toTag,
      },
      peer.port,
    ),
    port,
  );
  await until(() => log.dialogs.length === 1);
  peer.send(
    request(
      {
        method: 'BYE',
        uri: `sip:77@127.0.0.1:${port}`,
        branch: 'z9hG4bK-retx-bye',
        callId: 'retx-1',
        cseq: 2,
        toTag,
      },
      peer.port,
    ),
    port,
  );
  const bye200 = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 2 BYE/i.test(m));
  t.equal(bye200.length, 1, 'BYE answered');
  await until(() => log.ended.length === 1);
  t.same(log.ended, ['remote-bye']);
});

t.test('Timer G: a 488 is retransmitted until the ACK', async (t) => {
  const port = 17110;
  const backend = await startEndpoint(t, port);
  answerCalls(backend);
  const peer = await UdpPeer.open(t);
  peer.send(
    request(
      {
        method: 'INVITE',
        uri: `sip:1@127.0.0.1:${port}`,
        branch: 'z9hG4bK-g-1',
        callId: 'timer-g',
        cseq: 1,
        body: offer('g729'),
      },
      peer.port,
    ),
    port,
  );
  // T1 = 500 ms: the original and retransmissions at +0.5 s and +1.5 s.
  const before = await peer.waitFor((m) => statusOf(m) === 488, 3, 5000);
  t.ok(before.length >= 3, `488 retransmitted without an ACK (${before.length} copies)`);
  const toTag = /;tag=([^;\s]+)/.exec(header(before[0]!, 'To') ?? '')?.[1];
  peer.send(
    request(
      {
        method: 'ACK',
        uri: `sip:1@127.0.0.1:${port}`,
        branch: 'z9hG4bK-g-1',
        callId: 'timer-g',
        cseq: 1,
        toTag,
      },
      peer.port,
    ),
    port,
  );
  const countAtAck = peer.received.filter((m) => statusOf(m) === 488).length;
  // The next copy would be due within T2 (4 s); wait past it.
  await new Promise((r) => setTimeout(r, 4500));
  const after = peer.received.filter((m) => statusOf(m) === 488).length;
  t.ok(
    after - countAtAck <= 1,
    `no more 488 after the ACK (one may have crossed it): ${countAtAck} → ${after}`,
  );
});

t.test('rport and received: the response goes to the source, Via stamped (RFC 3581)', async (t) => {
  const port = 17120;
  await startEndpoint(t, port);
  const peer = await UdpPeer.open(t);
  // A sent-by that is wrong (as behind a NAT): the answer must still reach the socket.
  peer.send(
    request(
      {
        method: 'OPTIONS',
        uri: `sip:x@127.0.0.1:${port}`,
        branch: 'z9hG4bK-rport',
        callId: 'rport-1',
        cseq: 1,
        sentBy: '192.0.2.1:9999',
        rport: true,
      },
      peer.port,
    ),
    port,
  );
  const [res] = await peer.waitFor((m) => statusOf(m) === 200);
  t.ok(res, '200 arrived at the source port');
  const via = header(res ?? '', 'Via') ?? '';
  t.match(via, /received=127\.0\.0\.1/, 'received added');
  t.match(via, new RegExp(`rport=${peer.port}`), 'rport filled in');
});

t.test('TCP framing: two messages in one segment, one split across segments, CRLF ping', async (t) => {
  const port = 17130;
  await startEndpoint(t, port);
  const { socket, data } = await tcpConnect(t, port);
  const local = socket.localPort ?? 0;
  const opt = (n: number): string =>
    request(
      {
        method: 'OPTIONS',
        uri: `sip:x@127.0.0.1:${port}`,
        branch: `z9hG4bK-tcp-${n}`,
        callId: `tcp-${n}`,
        cseq: n,
        transport: 'TCP',
      },
      local,
    );
  socket.write(opt(1) + opt(2));
  await until(() => (data().match(/^SIP\/2\.0 200/gm) ?? []).length >= 2, 5000);
  t.equal((data().match(/^SIP\/2\.0 200/gm) ?? []).length, 2, 'both answered');
  const split = opt(3);
  for (const part of [split.slice(0, 10), split.slice(10, 200), split.slice(200)]) {
    socket.write(part);
    await new Promise((r) => setTimeout(r, 50));
  }
  await until(() => (data().match(/^SIP\/2\.0 200/gm) ?? []).length >= 3, 5000);
  t.match(data(), /CSeq: 3 OPTIONS/, 'split message answered');
  const before = data().length;
  socket.write('\r\n\r\n');
  await until(() => data().length > before, 3000);
  t.equal(data().slice(before), '\r\n', 'pong');
});

t.test('SipStreamFramer unit cases', async (t) => {
  const f = new SipStreamFramer();
  const msg = 'OPTIONS sip:a SIP/2.0\r\nContent-Length: 4\r\n\r\nbody';
  t.same(f.push(Buffer.from('\r\n')), [], 'half a ping waits');
  t.same(f.push(Buffer.from('\r\n' + msg.slice(0, 5))), [{ kind: 'ping' }]);
  t.same(f.push(Buffer.from(msg.slice(5) + msg)), [
    { kind: 'message', text: msg },
    { kind: 'message', text: msg },
  ]);
  t.same(f.push(Buffer.from('X y SIP/2.0\r\nVia: a\r\n\r\n')), [
    { kind: 'error', reason: 'no Content-Length on a stream transport' },
  ]);
});

// RFC 3261 §8.2.2.3: a request whose Require names an extension we do not implement is answered
// 420 Bad Extension with the tags in Unsupported (sip.js leaves this as a TODO and would answer
// the call as if the extension were in force). A merely Supported extension changes nothing, and
// a re-INVITE that requires one is refused without ending the call.
import t from 'tap';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, statusOf, until } from './support/raw-sip.js';

const PORT = 19336;

t.test('Require: 100rel, timer → 420 with Unsupported; Supported only → answered', async (t) => {
  const backend = await startEndpoint(t, PORT);
  const log = answerCalls(backend);
  const peer = await UdpPeer.open(t);
  const uri = `sip:77@127.0.0.1:${PORT}`;
  const invite = (callId: string, extra: string[], cseq = 1, toTag?: string) =>
    request(
      {
        method: 'INVITE',
        uri,
        branch: `z9hG4bK-${callId}-${cseq}`,
        callId,
        cseq,
        toTag,
        extra,
        body: offer('g711'),
      },
      peer.port,
    );

  peer.send(invite('req-1', ['Require: 100rel, timer', 'Session-Expires: 1800']), PORT);
  const [refused] = await peer.waitFor((m) => /Call-ID: req-1/i.test(m) && statusOf(m) >= 200);
  t.equal(statusOf(refused ?? ''), 420, '420 Bad Extension');
  t.equal(header(refused ?? '', 'Unsupported'), '100rel, timer', 'naming both tags');
  t.equal(log.calls.length, 0, 'no call reached the application');
  peer.send(invite('req-1', ['Require: 100rel, timer', 'Session-Expires: 1800']), PORT);
  const both = await peer.waitFor((m) => /Call-ID: req-1/i.test(m) && statusOf(m) === 420, 2);
  t.equal(both.length, 2, 'the retransmitted INVITE is refused again');
  t.equal(header(both[1] ?? '', 'To'), header(both[0] ?? '', 'To'), 'with the same To tag (§8.2.7)');

  peer.send(invite('req-2', ['Supported: 100rel, timer, replaces']), PORT);
  const [ok] = await peer.waitFor((m) => /Call-ID: req-2/i.test(m) && statusOf(m) >= 200);
  t.equal(statusOf(ok ?? ''), 200, 'only Supported: the call is answered');
  const toTag = /;tag=([^;\s>]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1];
  peer.send(
    request({ method: 'ACK', uri, branch: 'z9hG4bK-req-2-ack', callId: 'req-2', cseq: 1, toTag }, peer.port),
    PORT,
  );
  await until(() => log.dialogs.length === 1);

  peer.send(invite('req-2', ['Require: foo'], 2, toTag), PORT);
  const [reinvite] = await peer.waitFor((m) => /Call-ID: req-2/i.test(m) && /CSeq: 2 INVITE/i.test(m));
  t.equal(statusOf(reinvite ?? ''), 420, 'a re-INVITE requiring an extension gets 420');
  t.equal(header(reinvite ?? '', 'Unsupported'), 'foo');
  t.same(log.ended, [], 'and the call goes on');

  peer.send(
    request({ method: 'BYE', uri, branch: 'z9hG4bK-req-2-bye', callId: 'req-2', cseq: 3, toTag }, peer.port),
    PORT,
  );
  const [byeOk] = await peer.waitFor((m) => /CSeq: 3 BYE/i.test(m));
  t.equal(statusOf(byeOk ?? ''), 200, 'BYE answered');
  await until(() => log.ended.length === 1);
});

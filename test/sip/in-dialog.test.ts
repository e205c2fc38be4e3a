// Late offer (SDP in the ACK), re-INVITE for hold (answered by the call layer), INFO, a
// re-INVITE refused with 488, and a REFER from the caller declined (603, nothing dialled); from a
// hand-written UDP peer.
import t from 'tap';
import type { Dialog, ReinviteOffer, InfoRequest } from '../../src/signaling/signaling-backend.js';
import { answerFor, startEndpoint } from './support/sip-endpoint.js';
import { UdpPeer, header, offer, request, statusOf, until } from './support/raw-sip.js';

const PORT = 17550;

t.test('late offer, hold re-INVITE, INFO, refused re-INVITE, declined REFER, BYE', async (t) => {
  const backend = await startEndpoint(t, PORT);
  let dialog: Dialog | null = null;
  const reinvites: ReinviteOffer[] = [];
  const infos: InfoRequest[] = [];
  let offerSeen: string | null | undefined;
  backend.onIncomingCall((call) => {
    offerSeen = call.offerSdp;
    const ours = answerFor(call.offerSdp, 41000);
    if (ours.kind !== 'answer') return call.reject(ours.status);
    void call.answer(ours.sdp).then((d) => {
      dialog = d;
      d.events.on('reinvite', (r) => {
        reinvites.push(r);
        const a = answerFor(r.sdp, 41000);
        r.respond(reinvites.length === 1 && a.kind === 'answer' ? a.sdp : null);
      });
      d.events.on('info', (i) => infos.push(i));
    });
  });
  const peer = await UdpPeer.open(t);
  const uri = `sip:late@127.0.0.1:${PORT}`;
  const base = { uri, callId: 'dlg-1' };
  peer.send(request({ ...base, method: 'INVITE', branch: 'z9hG4bK-d1', cseq: 1 }, peer.port), PORT);
  const [ok200] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/.test(m));
  t.equal(offerSeen, null, 'late offer reaches the handler as offerSdp null');
  t.match(ok200 ?? '', /m=audio 41000 RTP\/AVP 0 8/, 'our 200 carries our offer');
  const toTag = /;tag=([^;\s]+)/.exec(header(ok200 ?? '', 'To') ?? '')?.[1];
  t.ok(toTag, 'to-tag');
  const answerSdp = offer('g711', 6100);
  peer.send(
    request({ ...base, method: 'ACK', branch: 'z9hG4bK-d1a', cseq: 1, toTag, body: answerSdp }, peer.port),
    PORT,
  );
  await until(() => dialog !== null);
  t.equal((dialog as Dialog | null)?.remoteSdp, answerSdp, 'ACK answer exposed as dialog.remoteSdp');

  const hold = offer('g711', 6100).replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PCMU/8000\r\na=sendonly');
  peer.send(
    request({ ...base, method: 'INVITE', branch: 'z9hG4bK-d2', cseq: 2, toTag, body: hold }, peer.port),
    PORT,
  );
  const [re200] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 2 INVITE/.test(m));
  t.equal(reinvites[0]?.sdp, hold, 'reinvite event carries the offer');
  t.match(re200 ?? '', /a=recvonly/, 'answer from the call layer (hold → recvonly)');
  peer.send(request({ ...base, method: 'ACK', branch: 'z9hG4bK-d2a', cseq: 2, toTag }, peer.port), PORT);

  peer.send(
    request(
      {
        ...base,
        method: 'INFO',
        branch: 'z9hG4bK-d3',
        cseq: 3,
        toTag,
        extra: ['Content-Type: application/dtmf-relay'],
      },
      peer.port,
    ).replace('Content-Length: 0\r\n\r\n', 'Content-Length: 24\r\n\r\nSignal=5\r\nDuration=160\r\n'),
    PORT,
  );
  const info200 = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 3 INFO/.test(m));
  t.equal(info200.length, 1, 'INFO answered 200');
  await until(() => infos.length === 1);
  t.equal(infos[0]?.contentType, 'application/dtmf-relay');
  t.match(infos[0]?.body ?? '', /Signal=5/);

  peer.send(
    request(
      { ...base, method: 'INVITE', branch: 'z9hG4bK-d4', cseq: 4, toTag, body: offer('g711', 6200) },
      peer.port,
    ),
    PORT,
  );
  const refused = await peer.waitFor((m) => statusOf(m) === 488 && /CSeq: 4 INVITE/.test(m));
  t.equal(refused.length >= 1, true, 'refused re-INVITE answered 488');
  peer.send(request({ ...base, method: 'ACK', branch: 'z9hG4bK-d4', cseq: 4, toTag }, peer.port), PORT);

  // A REFER from the caller asks us to call its Refer-To (here: the caller itself, so an INVITE
  // we placed would arrive on this socket). Declined; nothing is dialled.
  peer.send(
    request(
      {
        ...base,
        method: 'REFER',
        branch: 'z9hG4bK-d4r',
        cseq: 5,
        toTag,
        extra: [`Refer-To: <sip:premium@127.0.0.1:${peer.port}>`],
      },
      peer.port,
    ),
    PORT,
  );
  const declined = await peer.waitFor((m) => /CSeq: 5 REFER/.test(m) && statusOf(m) !== 100);
  t.equal(statusOf(declined[0] ?? ''), 603, 'REFER from the peer declined (603)');
  await new Promise((r) => setTimeout(r, 500));
  t.notOk(
    peer.received.some((m) => m.startsWith('INVITE ')),
    'and no INVITE was placed to its Refer-To',
  );

  const ended: string[] = [];
  (dialog as Dialog | null)?.events.on('terminated', ({ reason }) => ended.push(reason));
  peer.send(request({ ...base, method: 'BYE', branch: 'z9hG4bK-d5', cseq: 6, toTag }, peer.port), PORT);
  const bye200 = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 6 BYE/.test(m));
  t.equal(bye200.length, 1, 'BYE answered');
  await until(() => ended.length === 1);
  t.same(ended, ['remote-bye'], 'the call survived the refused re-INVITE until BYE');
});

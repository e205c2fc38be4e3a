// Requests we send over TLS. In a dialog that came over TLS, a REFER (transfer to a sips:
// target) and our BYE leave on the connection the call came in on: the caller's Contact and Via
// name a port where nothing listens (a TLS phone behind NAT, or one that only connects out), so
// only reuse of its connection (RFC 3261 §18.2.1 aliases by Via sent-by) can reach it. A call we
// place to a sips: target (a TLS trunk) goes over TLS, the callee's certificate checked against
// the target's host, and is refused when it names another host.
import t from 'tap';
import type { Dialog, ReferOutcome } from '../../src/signaling/signaling-backend.js';
import { OutboundCallError } from '../../src/signaling/embedded/outbound-call.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { answerCalls, answerFor, startEndpoint } from './support/sip-endpoint.js';
import { header, offer, request, statusOf } from './support/raw-sip.js';
import { makeTestPki } from './support/test-certificates.js';
import { openTlsPeer } from './support/tls-peer.js';

const EP = 36400;
const EP_TLS = 36401;
/** Where the caller claims to be (Via sent-by, Contact): nobody listens there. */
const CLAIMED_PORT = 36405;

t.setTimeout(30_000);

/** A response to `req` (its Via, From, To, Call-ID, CSeq) with our To tag. */
function responseTo(req: string, status: number, phrase: string): string {
  const copy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((name) => `${name}: ${header(req, name) ?? ''}`);
  return [`SIP/2.0 ${status} ${phrase}`, ...copy, 'Content-Length: 0', '', ''].join('\r\n');
}

t.test('REFER and BYE from us go out on the TLS connection the call came in on', async (t) => {
  const pki = makeTestPki(t);
  const ours = pki.issue('grok-sip', 'IP:127.0.0.1');
  const backend = await startEndpoint(t, EP, {
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: EP },
      { transport: 'tls', address: '127.0.0.1', port: EP_TLS, ...ours, ca: pki.ca },
    ],
  });
  let dialog: Dialog | undefined;
  backend.onIncomingCall((call) => {
    const answer = answerFor(call.offerSdp);
    if (answer.kind === 'answer') void call.answer(answer.sdp).then((d) => (dialog = d));
  });
  const peer = await openTlsPeer(t, { port: EP_TLS, ca: pki.caPem });
  const callId = 'tls-in-dialog';
  peer.send(
    request(
      {
        method: 'INVITE',
        uri: `sip:bot@127.0.0.1:${EP_TLS};transport=tls`,
        branch: 'z9hG4bK-tid-1',
        callId,
        cseq: 1,
        transport: 'TLS',
        body: offer('g711'),
      },
      CLAIMED_PORT,
    ).replace(/^Contact: <([^>]+)>/m, 'Contact: <$1;transport=tls>'),
  );
  const ok = await peer.waitFor((m) => statusOf(m) === 200 && m.includes('INVITE'));
  const toTag = /;tag=([^;\s>]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1] ?? '';
  const ourContact = /<([^>]+)>/.exec(header(ok ?? '', 'Contact') ?? '')?.[1] ?? '';
  t.equal(ourContact, `sip:grok-sip@127.0.0.1:${EP_TLS};transport=tls`);
  peer.send(
    request(
      { method: 'ACK', uri: ourContact, branch: 'z9hG4bK-tid-ack', callId, cseq: 1, toTag, transport: 'TLS' },
      CLAIMED_PORT,
    ),
  );
  const start = Date.now();
  while (dialog === undefined && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
  if (dialog === undefined) return t.fail('no dialog after the ACK');

  const outcome: Promise<ReferOutcome> = dialog.refer('sips:operator@pbx.example.test');
  const refer = await peer.waitFor((m) => m.startsWith('REFER '));
  t.ok(refer, 'the REFER came on the same TLS connection');
  t.match(
    header(refer ?? '', 'Via') ?? '',
    new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${EP_TLS};`),
    'Via: TLS',
  );
  t.match(
    header(refer ?? '', 'Refer-To') ?? '',
    /sips:operator@pbx\.example\.test/,
    'Refer-To: the sips: target',
  );
  t.match(refer ?? '', new RegExp(`^REFER sip:raw@127\\.0\\.0\\.1:${CLAIMED_PORT};transport=tls SIP/2\\.0`));
  peer.send(responseTo(refer ?? '', 202, 'Accepted'));
  const fromHeader = header(refer ?? '', 'From') ?? '';
  const sipfrag = 'SIP/2.0 200 OK\r\n';
  peer.send(
    [
      `NOTIFY ${ourContact} SIP/2.0`,
      `Via: SIP/2.0/TLS 127.0.0.1:${CLAIMED_PORT};branch=z9hG4bK-tid-notify`,
      `From: <sip:raw@127.0.0.1:${CLAIMED_PORT}>;tag=rawtag`,
      `To: ${fromHeader}`,
      `Call-ID: ${callId}`,
      'CSeq: 2 NOTIFY',
      `Contact: <sip:raw@127.0.0.1:${CLAIMED_PORT};transport=tls>`,
      'Event: refer',
      'Subscription-State: terminated;reason=noresource',
      'Content-Type: message/sipfrag',
      `Content-Length: ${sipfrag.length}`,
      '',
      sipfrag,
    ].join('\r\n'),
  );
  const result = await outcome;
  t.same([result.accepted, result.status], [true, 200], 'transfer accepted, final 200 from the sipfrag');

  const hangup = dialog.hangup();
  const bye = await peer.waitFor((m) => m.startsWith('BYE '));
  t.ok(bye, 'our BYE came on the same TLS connection');
  peer.send(responseTo(bye ?? '', 200, 'OK'));
  await hangup;
  t.notOk(peer.closed(), 'the connection stays open');
});

t.test(
  'a call we place to a sips: target goes over TLS; a certificate for another name is refused',
  async (t) => {
    const pki = makeTestPki(t);
    const caller = await startEndpoint(t, EP + 10, {
      listen: [
        { transport: 'udp', address: '127.0.0.1', port: EP + 10 },
        {
          transport: 'tls',
          address: '127.0.0.1',
          port: EP_TLS + 10,
          ...pki.issue('caller', 'IP:127.0.0.1'),
          ca: pki.ca,
        },
      ],
    });
    const callee = await startEndpoint(t, EP + 20, {
      listen: [
        { transport: 'udp', address: '127.0.0.1', port: EP + 20 },
        {
          transport: 'tls',
          address: '127.0.0.1',
          port: EP_TLS + 20,
          ...pki.issue('callee', 'IP:127.0.0.1'),
          ca: pki.ca,
        },
      ],
    });
    const log = answerCalls(callee);
    // A TLS client that claims the callee's address in its Via (an alias a TCP peer may use for
    // connection reuse) must not get the call: TLS never reuses a connection by Via alias.
    const impostor = await openTlsPeer(t, { port: EP_TLS + 10, ca: pki.caPem });
    impostor.send(
      request(
        {
          method: 'OPTIONS',
          uri: `sip:x@127.0.0.1:${EP_TLS + 10}`,
          branch: 'z9hG4bK-imp',
          callId: 'imp',
          cseq: 1,
          transport: 'TLS',
        },
        EP_TLS + 20,
      ),
    );
    await impostor.waitFor((m) => m.includes('imp'));
    const placed = await caller.placeCall({
      target: `sips:trunk@127.0.0.1:${EP_TLS + 20}`,
      offerSdp: offer('g711', 40100),
    });
    t.equal(log.calls[0]?.source.transport, 'tls', 'the callee got the INVITE over TLS');
    t.notOk(
      impostor.received.some((m) => m.startsWith('INVITE ')),
      'not the client that claimed its address',
    );
    t.match(
      log.calls[0]?.header('contact') ?? '',
      new RegExp(`<sips:[^@]+@127\\.0\\.0\\.1:${EP_TLS + 10}[>;]`),
      'our Contact is sips: (§8.1.1.8)',
    );
    t.match(placed.remoteSdp, /m=audio/, 'answered');
    await placed.dialog.hangup();
    t.same(log.ended, ['remote-bye'], 'our BYE reached the callee over TLS');

    // "localhost" resolves to 127.0.0.1, but the callee's certificate names only IP:127.0.0.1.
    const before = rejectedInputs.count('tls');
    const refused = await caller
      .placeCall({
        target: `sips:trunk@localhost:${EP_TLS + 20}`,
        offerSdp: offer('g711', 40102),
        timeoutMs: 5000,
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    t.ok(refused instanceof OutboundCallError, `the call fails: ${String(refused)}`);
    t.equal(log.calls.length, 1, 'no INVITE reached the callee');
    t.equal(rejectedInputs.count('tls'), before + 1, 'the refused handshake is counted');
  },
);

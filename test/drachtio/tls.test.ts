// SIP over TLS with the drachtio backend: drachtio-server holds the TLS listener and the
// certificate (docs/drachtio.md "SIP over TLS"); a hand-written TLS caller's call reaches the
// DrachtioBackend marked transport tls, our 200 and the BYE's 200 come back on the caller's TLS
// connection. Needs a drachtio binary (DRACHTIO_BIN or PATH).
import t from 'tap';
import { DrachtioBackend } from '../../src/signaling/drachtio/index.js';
import type { Dialog, IncomingCall } from '../../src/signaling/signaling-backend.js';
import { header, offer, request, statusOf, until } from '../sip/support/raw-sip.js';
import { makeTestPki } from '../sip/support/test-certificates.js';
import { openTlsPeer } from '../sip/support/tls-peer.js';
import { findDrachtio, startDrachtio } from './support/drachtio-server.js';
import { sdp } from './support/sip-caller.js';

const drachtio = findDrachtio();
const SIP_PORT = 36500;
const TLS_PORT = 36501;
const ADMIN_PORT = 36502;
const secret = 'grok-sip-test';

t.test(
  'a call over TLS through drachtio-server',
  { skip: 'skip' in drachtio ? drachtio.skip : false },
  async (t) => {
    if (!('bin' in drachtio)) return;
    const pki = makeTestPki(t);
    const cert = pki.issue('drachtio', 'IP:127.0.0.1');
    await startDrachtio(t, drachtio.bin, {
      sipPort: SIP_PORT,
      adminPort: ADMIN_PORT,
      secret,
      tls: { port: TLS_PORT, ...cert, chain: pki.ca },
    });
    const backend = new DrachtioBackend({
      drachtio: { mode: 'inbound', host: '127.0.0.1', port: ADMIN_PORT, secret, listenPort: 3000 },
      maxCalls: 5,
      retryAfterSec: 7,
      userAgent: 'grok-sip-test',
      registrations: [],
    });
    const calls: IncomingCall[] = [];
    const dialogs: Dialog[] = [];
    backend.onIncomingCall((call) => {
      calls.push(call);
      void call.answer(sdp(40000).replace('o=peer', 'o=grok')).then((d) => dialogs.push(d));
    });
    await backend.start();
    t.teardown(() => backend.stop());

    const peer = await openTlsPeer(t, { port: TLS_PORT, ca: pki.caPem });
    const callId = 'drachtio-tls';
    peer.send(
      request(
        {
          method: 'INVITE',
          uri: `sips:echo@127.0.0.1:${TLS_PORT}`,
          branch: 'z9hG4bK-dt-1',
          callId,
          cseq: 1,
          transport: 'TLS',
          body: offer('g711'),
        },
        peer.localPort,
      ).replace(/^Contact: <sip:([^>]+)>/m, 'Contact: <sips:$1>'),
    );
    const ok = await peer.waitFor((m) => statusOf(m) === 200 && m.includes('INVITE'), 10_000);
    t.ok(ok, '200 OK on the TLS connection');
    t.equal(calls[0]?.source.transport, 'tls', 'the backend sees the call came over TLS');
    const toTag = /;tag=([^;\s>]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1] ?? '';
    const contact = /<([^>]+)>/.exec(header(ok ?? '', 'Contact') ?? '')?.[1] ?? '';
    t.match(contact, /^sips:|transport=tls/i, `drachtio's Contact is a TLS one (${contact})`);
    peer.send(
      request(
        { method: 'ACK', uri: contact, branch: 'z9hG4bK-dt-ack', callId, cseq: 1, toTag, transport: 'TLS' },
        peer.localPort,
      ),
    );
    await until(() => dialogs.length === 1, 5000);
    t.equal(dialogs.length, 1, 'dialog up on the ACK');
    peer.send(
      request(
        { method: 'BYE', uri: contact, branch: 'z9hG4bK-dt-bye', callId, cseq: 2, toTag, transport: 'TLS' },
        peer.localPort,
      ),
    );
    const byeOk = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq:\s*2 BYE/.test(m), 5000);
    t.ok(byeOk, 'BYE answered 200 on the TLS connection');
  },
);

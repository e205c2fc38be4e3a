// The DrachtioBackend on its own (no app), in both connection modes, against a real drachtio-server
// and a hand-written UDP caller: every part of the SignalingBackend contract — IncomingCall with
// 180/200 resolving on the ACK, 503 + Retry-After past maxCalls, the inbound policy's 403,
// re-INVITE answered and refused, INFO both ways, REFER followed to the final NOTIFY, a caller's
// REFER declined, BYE both
// ways, CANCEL, late offer — and, in outbound mode, the listener staying "connected" while the
// per-call connections come and go. Needs a drachtio binary (DRACHTIO_BIN or PATH).
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { DrachtioBackend } from '../../src/signaling/drachtio/index.js';
import type { Dialog, DialogEndReason, IncomingCall } from '../../src/signaling/signaling-backend.js';
import { header, until } from '../sip/support/raw-sip.js';
import { findDrachtio, startDrachtio } from './support/drachtio-server.js';
import { SipCaller, sdp } from './support/sip-caller.js';

const drachtio = findDrachtio();
const secret = 'grok-sip-test';
const ours = sdp(40000).replace('o=peer', 'o=grok');

/** Established TCP connections on our outbound-mode listener (drachtio-server's per-call links). */
const linksTo = (port: number): number =>
  spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.trim() !== '').length;

const modes = [
  { mode: 'inbound', sipPort: 17830, adminPort: 19024, listenPort: 17835 },
  { mode: 'outbound', sipPort: 17840, adminPort: 19025, listenPort: 17845 },
] as const;

for (const setup of modes) {
  t.test(`${setup.mode} mode`, { skip: 'skip' in drachtio ? drachtio.skip : false }, async (t) => {
    if (!('bin' in drachtio)) return;
    await startDrachtio(t, drachtio.bin, {
      sipPort: setup.sipPort,
      adminPort: setup.adminPort,
      secret,
      ...(setup.mode === 'outbound' && { outboundTo: setup.listenPort }),
    });
    const backend = new DrachtioBackend({
      drachtio: {
        mode: setup.mode,
        host: '127.0.0.1',
        port: setup.adminPort,
        secret,
        listenPort: setup.listenPort,
      },
      maxCalls: 1,
      retryAfterSec: 7,
      userAgent: 'grok-sip-test',
      registrations: [],
      inboundPolicy: (req) => (req.uri.includes('blocked@') ? { status: 403 } : 'accept'),
    });
    const calls: IncomingCall[] = [];
    backend.onIncomingCall((call) => calls.push(call));
    await backend.start();
    t.teardown(() => backend.stop());
    t.equal(backend.connected, true, 'connected once start() resolves');

    /** One call up to the ACK; returns the caller, the IncomingCall and its dialog. */
    const callUp = async (callId: string, offer: string | null = sdp(30000)) => {
      const caller = await SipCaller.open(t, callId, setup.sipPort);
      const from = calls.length;
      caller.send('INVITE', offer === null ? {} : { body: offer });
      await until(() => calls.length > from);
      const call = calls[from]!;
      const dialogP = call.answer(ours);
      const ok = await caller.response(200, 1);
      caller.send('ACK', { cseq: 1, ...(offer === null && { body: sdp(30002) }) });
      const dialog = await dialogP;
      return { caller, call, dialog, ok };
    };
    /** Our BYE, answered 200 by the caller. */
    const hangup = async (caller: SipCaller, dialog: Dialog): Promise<void> => {
      const done = dialog.hangup();
      const bye = await caller.request('BYE');
      if (bye !== undefined) caller.respond(bye, 200, 'OK');
      await done;
    };
    const ended = (dialog: Dialog) =>
      new Promise<DialogEndReason>((resolve) => dialog.events.once('terminated', (e) => resolve(e.reason)));

    await t.test('INVITE → IncomingCall, 180, 200, answer() resolves on the ACK', async (t) => {
      const caller = await SipCaller.open(t, `${setup.mode}-a`, setup.sipPort);
      caller.send('INVITE', { body: sdp(30000), extra: ['X-Tenant: blue'] });
      await until(() => calls.length === 1);
      const call = calls[0]!;
      t.match(call, { callId: `${setup.mode}-a`, dialledUser: 'bot', source: { address: '127.0.0.1' } });
      t.match(call.offerSdp, /m=audio 30000 RTP\/AVP 0/, 'the offer');
      t.equal(call.header('x-tenant'), 'blue', 'headers as received, any case');
      call.progress();
      t.ok(await caller.response(180, 1), '180 Ringing');
      let acked = false;
      const dialogP = call.answer(ours).then((d) => {
        acked = true;
        return d;
      });
      const ok = await caller.response(200, 1);
      t.match(ok, /o=grok/, 'our SDP in the 200');
      t.equal(acked, false, 'answer() still pending when the caller has the 200 but sent no ACK');
      caller.send('ACK', { cseq: 1 });
      const dialog = await dialogP;
      t.equal(dialog.callId, `${setup.mode}-a`);

      await t.test('past maxCalls: 503 with Retry-After, no IncomingCall', async (t) => {
        const second = await SipCaller.open(t, `${setup.mode}-full`, setup.sipPort);
        second.send('INVITE', { body: sdp(30010) });
        const busy = await second.response(503, 1);
        t.equal(header(busy ?? '', 'Retry-After'), '7');
        t.equal(calls.length, 1);
        second.send('ACK', { cseq: 1, branch: `z9hG4bK${setup.mode}-full-1` });
      });

      await t.test('re-INVITE: our answer in the 200, then a refused one: 488, call unchanged', async (t) => {
        dialog.events.once('reinvite', (offer) => {
          t.match(offer.sdp, /a=sendonly/, 'the hold offer');
          offer.respond(ours.replace('a=sendrecv', 'a=recvonly'));
        });
        const hold = caller.send('INVITE', { body: sdp(30000, 'sendonly', 2) });
        t.match(await caller.response(200, hold.cseq), /a=recvonly/, 'hold answered recvonly');
        caller.send('ACK', { cseq: hold.cseq });
        t.match(dialog.remoteSdp, /a=sendonly/, 'remoteSdp is the last accepted offer');
        dialog.events.once('reinvite', (offer) => offer.respond(null));
        const refused = caller.send('INVITE', { body: sdp(31000, 'sendrecv', 3) });
        t.ok(await caller.response(488, refused.cseq), '488 Not Acceptable Here');
        caller.send('ACK', { cseq: refused.cseq, branch: refused.branch });
        t.match(dialog.remoteSdp, /a=sendonly/, 'a refused offer does not change remoteSdp');
      });

      await t.test('INFO both ways', async (t) => {
        const got = new Promise<{ contentType: string; body: string }>((resolve) =>
          dialog.events.once('info', resolve),
        );
        const info = caller.send('INFO', {
          contentType: 'application/dtmf-relay',
          body: 'Signal=5\r\nDuration=160\r\n',
        });
        t.ok(await caller.response(200, info.cseq, 'INFO'), 'our 200 to INFO');
        t.match(await got, { contentType: 'application/dtmf-relay', body: /Signal=5/ });

        const status = dialog.sendInfo('application/dtmf-relay', 'Signal=1\r\nDuration=100\r\n');
        const out = await caller.request('INFO');
        t.match(out, /Signal=1/);
        caller.respond(out!, 200, 'OK');
        t.equal(await status, 200, 'sendInfo resolves with the status');
      });

      await t.test('REFER followed to the final NOTIFY sipfrag', async (t) => {
        const outcome = dialog.refer('sip:4001@127.0.0.1');
        const refer = await caller.request('REFER');
        t.equal(header(refer ?? '', 'Refer-To'), '<sip:4001@127.0.0.1>');
        caller.respond(refer!, 202, 'Accepted');
        const notify = (body: string, state: string) =>
          caller.send('NOTIFY', {
            contentType: 'message/sipfrag;version=2.0',
            body,
            extra: ['Event: refer', `Subscription-State: ${state}`],
          });
        const trying = notify('SIP/2.0 100 Trying\r\n', 'active;expires=60');
        t.ok(await caller.response(200, trying.cseq, 'NOTIFY'), '200 to the first NOTIFY');
        notify('SIP/2.0 200 OK\r\n', 'terminated;reason=noresource');
        t.same(await outcome, { accepted: true, status: 200, reason: 'OK' });
      });

      await t.test('a REFER from the caller is declined (603)', async (t) => {
        const refer = caller.send('REFER', { extra: ['Refer-To: <sip:premium@127.0.0.1:9>'] });
        t.ok(await caller.response(603, refer.cseq, 'REFER'), '603 Decline: we place no call for a peer');
      });

      await t.test('BYE from us', async (t) => {
        const reason = ended(dialog);
        const done = dialog.hangup();
        const bye = await caller.request('BYE');
        t.ok(bye, 'the caller got our BYE');
        caller.respond(bye!, 200, 'OK');
        await done;
        t.equal(await reason, 'local-bye');
        t.equal(backend.activeCalls, 0, 'the slot is free');
      });
    });

    await t.test('BYE from the caller', async (t) => {
      const { caller, dialog } = await callUp(`${setup.mode}-b`);
      let byes = 0;
      dialog.events.on('bye', () => byes++);
      const reason = ended(dialog);
      const bye = caller.send('BYE');
      t.ok(await caller.response(200, bye.cseq, 'BYE'), '200 to the BYE');
      t.equal(await reason, 'remote-bye');
      t.equal(byes, 1, "one 'bye' event");
      await until(() => backend.activeCalls === 0);
      t.equal(backend.activeCalls, 0);
    });

    await t.test('CANCEL: cancel event, 200 and 487 to the caller', async (t) => {
      const caller = await SipCaller.open(t, `${setup.mode}-c`, setup.sipPort);
      const from = calls.length;
      const invite = caller.send('INVITE', { body: sdp(30020) });
      await until(() => calls.length > from);
      const cancelled = new Promise<void>((resolve) => calls[from]!.events.once('cancel', resolve));
      caller.send('CANCEL', { cseq: invite.cseq, branch: invite.branch });
      t.ok(await caller.response(200, invite.cseq, 'CANCEL'), '200 to the CANCEL');
      t.ok(await caller.response(487, invite.cseq), '487 to the INVITE');
      await cancelled;
      caller.send('ACK', { cseq: invite.cseq, branch: invite.branch });
      await t.rejects(calls[from]!.answer(ours), /cancel/, 'answer() after CANCEL rejects');
      t.equal(backend.activeCalls, 0, 'the slot is free');
    });

    await t.test('late offer: our offer in the 200, the answer from the ACK', async (t) => {
      const { caller, call, dialog, ok } = await callUp(`${setup.mode}-d`, null);
      t.equal(call.offerSdp, null);
      t.match(ok, /o=grok/, 'our offer in the 200');
      t.match(dialog.remoteSdp, /m=audio 30002 /, 'remoteSdp is the answer in the ACK');
      await hangup(caller, dialog);
    });

    await t.test('inbound policy: 403 before any IncomingCall', async (t) => {
      const caller = await SipCaller.open(t, `${setup.mode}-e`, setup.sipPort, 'blocked');
      const from = calls.length;
      caller.send('INVITE', { body: sdp(30030) });
      t.ok(await caller.response(403, 1), '403 Forbidden');
      t.equal(calls.length, from);
    });

    // Outbound mode: each call's connection has closed (srf.endSession); the listener is what counts.
    await sleep(200);
    t.equal(backend.connected, true, 'still connected after the calls');
    const next = await callUp(`${setup.mode}-f`);
    t.equal(next.call.callId, `${setup.mode}-f`, 'a call after the others still reaches the backend');
    if (setup.mode === 'outbound') {
      t.equal(linksTo(setup.listenPort), 1, 'drachtio-server connected to us for the live call');
    }
    await hangup(next.caller, next.dialog);
    if (setup.mode === 'outbound') {
      await until(() => linksTo(setup.listenPort) === 0, 3000);
      t.equal(linksTo(setup.listenPort), 0, "each call's connection is closed when the call ends");
    }
  });
}

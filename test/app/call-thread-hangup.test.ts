// An inbound call running in a call thread (media.workers: 1) hung up and transferred through the call list (what
// DELETE /v1/calls/{id} does): the hang-up crosses to the thread and the CDR says api-hangup.
// Ports: SIP 37350, RTP 37360-37379, SIPp caller 37351 (media 37352).
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { runSipp } from '../sip/support/run-peer.js';

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37350 }]
media: { rtpAddress: 127.0.0.1, portMin: 37360, portMax: 37379, workers: 1 }
agents:
  profiles: [{ name: echo, instructions: Repeat., audioFormat: auto }]
  routes: [{ match: echo, agent: echo }]
`,
  {},
);

t.test('hang-up of a call in a call thread', async (t) => {
  const app = await startGrokSip(config);
  t.teardown(() => app.stop());
  t.equal(app.callThreads().length, 1, 'one call thread');
  const caller = runSipp(t, '127.0.0.1:37350', [
    '-sf',
    path.resolve('sip-config/sipp/uac_recv_bye.xml'),
    '-s',
    'echo',
    '-p',
    '37351',
    '-mp',
    '37352',
    '-m',
    '1',
  ]);
  let id: string | undefined;
  for (let i = 0; i < 200 && id === undefined; i++) {
    id = app.calls.list().find((c) => c.direction === 'inbound')?.id;
    if (id === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(id, 'listed');
  const ended = new Promise((resolve) => app.events.once('call-ended', resolve));
  t.ok(app.calls.hangup(id!), 'hung up');
  t.match(await ended, { callId: id, endReason: 'api-hangup' });
  t.equal((await caller).code, 0, 'SIPp got our BYE');
  t.equal(app.calls.transfer(id!, 'sip:x@127.0.0.1'), undefined, 'over: no live call');
});

t.test('transfer of a call in a call thread', async (t) => {
  const app = await startGrokSip(config);
  t.teardown(() => app.stop());
  const caller = runSipp(t, '127.0.0.1:37350', [
    '-sf',
    path.resolve('sip-config/sipp/uac_accept_refer.xml'),
    '-s',
    'echo',
    '-p',
    '37353',
    '-mp',
    '37354',
    '-m',
    '1',
  ]);
  let id: string | undefined;
  for (let i = 0; i < 200 && id === undefined; i++) {
    id = app.calls.list().find((c) => c.direction === 'inbound')?.id;
    if (id === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(id, 'listed');
  const ended = new Promise((resolve) => app.events.once('call-ended', resolve));
  // The REFER crosses to the call thread and its outcome comes back (rejected until the answer).
  let outcome: unknown;
  for (let i = 0; i < 100 && outcome === undefined; i++) {
    const pending = app.calls.transfer(id!, 'sip:4001@127.0.0.1');
    t.not(pending, null, 'a call in a call thread is transferable');
    outcome = await pending?.catch(() => undefined);
    if (outcome === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  t.match(outcome, { accepted: true, status: 200 }, 'the REFER was accepted (NOTIFY sipfrag 200)');
  t.match(await ended, { callId: id, endReason: 'transfer', transferTarget: 'sip:4001@127.0.0.1' });
  t.equal((await caller).code, 0, 'SIPp took the REFER, reported 200 and got our BYE');
});

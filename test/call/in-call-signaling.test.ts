// In-call signalling through the whole app, from a hand-written SIP peer with its own RTP socket:
// a late offer (INVITE without SDP) connects the agent after the ACK; a hold re-INVITE
// (sendonly) silences our RTP and a resume brings it back; a caller that sends no RTP at all is
// hung up after media.rtpTimeoutSec.
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { audioSdp as sdp, header, request, statusOf, UdpPeer, until } from '../sip/support/raw-sip.js';

const sipPort = 19000;

async function start(t: { teardown(fn: () => unknown): void }, rtpTimeoutSec: number) {
  const app: GrokSipApp = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }] }
media: { rtpAddress: 127.0.0.1, portMin: 26500, portMax: 26599, rtpTimeoutSec: ${rtpTimeoutSec} }
agents:
  default: a
  profiles: [{ name: a, instructions: x }]
`,
      {},
    ),
    { localAgent: { mode: 'scripted' } },
  );
  t.teardown(() => app.stop());
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (r) => records.push(r));
  return { app, records };
}

t.test('late offer, hold and resume', async (t) => {
  const { app, records } = await start(t, 0);
  const agent = app.localAgent!;
  const peer = await UdpPeer.open(t);
  const rtp = createSocket('udp4');
  await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
  t.teardown(() => rtp.close());
  let rtpPackets = 0;
  rtp.on('message', () => rtpPackets++);
  const rtpPort = rtp.address().port;
  const uri = `sip:a@127.0.0.1:${sipPort}`;
  const base = { uri, callId: 'incall-1' };

  peer.send(request({ ...base, method: 'INVITE', branch: 'z9hG4bKic1', cseq: 1 }, peer.port), sipPort);
  const [ok] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/.test(m));
  t.match(
    ok ?? '',
    /m=audio \d+ RTP\/AVP 0 8 101/,
    'our 200 carries our offer (PCMU, PCMA, telephone-event)',
  );
  const toTag = /;tag=([^;\s]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1];
  const ack = (branch: string, cseq: number, body?: string): void =>
    peer.send(
      request(
        { ...base, method: 'ACK', branch, cseq, toTag: toTag!, ...(body !== undefined && { body }) },
        peer.port,
      ),
      sipPort,
    );
  t.equal(agent.openConnections(), 0, 'no agent before the answer in the ACK');
  ack('z9hG4bKic1a', 1, sdp(rtpPort, 'sendrecv', 1));
  await until(() => agent.openConnections() === 1);
  t.equal(agent.openConnections(), 1, 'the agent session opens once the ACK brought the answer');
  await sleep(300);

  agent.runStep({ kind: 'say', text: 'before hold', durationMs: 400 });
  await until(() => rtpPackets >= 15, 3000);
  t.ok(rtpPackets >= 15, `agent audio reaches the caller: ${rtpPackets} packets`);

  const reinvite = (cseq: number, direction: string): void =>
    peer.send(
      request(
        {
          ...base,
          method: 'INVITE',
          branch: `z9hG4bKic${cseq}`,
          cseq,
          toTag: toTag!,
          body: sdp(rtpPort, direction, cseq),
        },
        peer.port,
      ),
      sipPort,
    );
  reinvite(2, 'sendonly');
  const [held] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 2 INVITE/.test(m));
  t.match(held ?? '', /a=recvonly/, 'hold answered recvonly');
  ack('z9hG4bKic2a', 2);
  await sleep(600);
  const beforeHoldSay = rtpPackets;
  agent.runStep({ kind: 'say', text: 'while held', durationMs: 400 });
  await sleep(800);
  t.equal(rtpPackets, beforeHoldSay, 'no agent RTP while the caller holds');

  reinvite(3, 'sendrecv');
  const [resumed] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 3 INVITE/.test(m));
  t.match(resumed ?? '', /a=sendrecv/, 'resume answered sendrecv');
  ack('z9hG4bKic3a', 3);
  agent.runStep({ kind: 'say', text: 'after resume', durationMs: 400 });
  await until(() => rtpPackets >= beforeHoldSay + 15, 3000);
  t.ok(rtpPackets >= beforeHoldSay + 15, 'agent audio flows again after the resume');

  peer.send(
    request({ ...base, method: 'BYE', branch: 'z9hG4bKic4', cseq: 4, toTag: toTag! }, peer.port),
    sipPort,
  );
  await until(() => records.length === 1);
  t.equal(records[0]?.endReason, 'remote-bye');
  t.equal(records[0]?.codec, 'PCMU', 'codec from the answer in the ACK');
});

t.test('no RTP at all: BYE after rtpTimeoutSec', async (t) => {
  const { records } = await start(t, 1);
  const peer = await UdpPeer.open(t);
  const base = { uri: `sip:a@127.0.0.1:${sipPort}`, callId: 'incall-2' };
  peer.send(
    request(
      { ...base, method: 'INVITE', branch: 'z9hG4bKto1', cseq: 1, body: sdp(9, 'sendrecv', 1) },
      peer.port,
    ),
    sipPort,
  );
  const [ok] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/.test(m));
  const toTag = /;tag=([^;\s]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1];
  peer.send(
    request({ ...base, method: 'ACK', branch: 'z9hG4bKto1a', cseq: 1, toTag: toTag! }, peer.port),
    sipPort,
  );
  const [bye] = await peer.waitFor((m) => m.startsWith('BYE '), 1, 5000);
  t.ok(bye, 'grok-sip sent BYE');
  if (bye !== undefined) {
    const answer = [
      'SIP/2.0 200 OK',
      ...['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(bye, h) ?? ''}`),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    peer.send(answer, sipPort);
  }
  await until(() => records.length === 1);
  t.equal(records[0]?.endReason, 'rtp-timeout');
});

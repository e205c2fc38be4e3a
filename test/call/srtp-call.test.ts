// An SRTP call through the whole app from a hand-written SIP peer with its own RTP socket and its
// own SRTP contexts (src/media/srtp-context.ts, checked against libsrtp elsewhere): the peer offers
// RTP/SAVP with its key, reads ours from the 200, decrypts every packet of the agent's speech and
// sends its own; tampered and replayed packets are dropped and counted; a hold re-INVITE keeps our
// key; a resume with a new peer key (re-key, RFC 4568 §7.1.4) is followed. Ports 35300-35399.
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { serializeRtp } from '../../src/media/rtp-datagram.js';
import { SrtpContext } from '../../src/media/srtp-context.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import {
  freshCrypto,
  formatCryptoAttribute,
  parseSdp,
  type SdesCrypto,
} from '../../src/signaling/sdp/index.js';
import { header, request, statusOf, UdpPeer, until } from '../sip/support/raw-sip.js';

const sipPort = 35300;

const savpSdp = (rtpPort: number, direction: string, version: number, key: SdesCrypto): string =>
  [
    'v=0',
    `o=peer 1 ${version} IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${rtpPort} RTP/SAVP 0`,
    'a=rtpmap:0 PCMU/8000',
    `a=crypto:${formatCryptoAttribute(key)}`,
    `a=${direction}`,
    '',
  ].join('\r\n');

const bodyOf = (message: string): string => message.slice(message.indexOf('\r\n\r\n') + 4);

t.test('SRTP call: both directions, forgeries dropped, hold keeps our key, the peer re-keys', async (t) => {
  const app = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }] }
media: { rtpAddress: 127.0.0.1, portMin: 35310, portMax: 35349, rtpTimeoutSec: 0, workers: 0, srtp: optional }
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
  const agent = app.localAgent!;
  const peer = await UdpPeer.open(t);
  const rtp = createSocket('udp4');
  await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
  t.teardown(() => rtp.close());
  const rtpPort = rtp.address().port;
  const base = { uri: `sip:a@127.0.0.1:${sipPort}`, callId: 'srtp-call-1' };

  const peerKey = freshCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
  peer.send(
    request(
      {
        ...base,
        method: 'INVITE',
        branch: 'z9hG4bKsr1',
        cseq: 1,
        body: savpSdp(rtpPort, 'sendrecv', 1, peerKey),
      },
      peer.port,
    ),
    sipPort,
  );
  const [ok] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/.test(m));
  const answer = parseSdp(bodyOf(ok ?? ''));
  t.equal(answer.protocol, 'RTP/SAVP', 'answered RTP/SAVP');
  t.equal(answer.crypto.length, 1, 'one a=crypto line');
  const ourKey = answer.crypto[0]!;
  t.equal(ourKey.tag, 1);
  t.not(
    Buffer.from(ourKey.keySalt).toString('hex'),
    Buffer.from(peerKey.keySalt).toString('hex'),
    'its own key',
  );
  const toTag = /;tag=([^;\s]+)/.exec(header(ok ?? '', 'To') ?? '')?.[1];
  const ack = (branch: string, cseq: number): void =>
    peer.send(request({ ...base, method: 'ACK', branch, cseq, toTag: toTag! }, peer.port), sipPort);
  ack('z9hG4bKsr1a', 1);

  // grok-sip -> peer: every packet of the agent's speech authenticates and decrypts under our key.
  const inbound = new SrtpContext(ourKey);
  let decrypted = 0;
  let refused = 0;
  let payloadBytes = 0;
  rtp.on('message', (datagram: Buffer) => {
    const n = inbound.unprotectRtp(datagram, datagram.length);
    if (n < 0) refused++;
    else {
      decrypted++;
      payloadBytes = n - 12;
    }
  });
  await until(() => agent.openConnections() === 1);
  await sleep(200);
  agent.runStep({ kind: 'say', text: 'over srtp', durationMs: 400 });
  await until(() => decrypted >= 15, 3000);
  t.equal(refused, 0, 'no packet of ours failed at the peer');
  t.equal(payloadBytes, 160, '20 ms of PCMU per packet');

  // peer -> grok-sip: genuine packets, then tampered copies and replays from the same address.
  let outbound = new SrtpContext(peerKey);
  let seq = 0;
  const sealed = (): Buffer => {
    seq++;
    const plain = serializeRtp({
      payloadType: 0,
      seq,
      ts: seq * 160,
      ssrc: 0xcafe,
      marker: false,
      payload: Buffer.alloc(160, 0x7f),
    });
    const b = Buffer.alloc(plain.length + 10);
    plain.copy(b);
    return b.subarray(0, outbound.protectRtp(b, plain.length));
  };
  const send = (b: Buffer) =>
    new Promise<void>((resolve, reject) =>
      rtp.send(b, answer.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
  const sent: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const b = sealed();
    sent.push(Buffer.from(b));
    await send(b);
    if (i % 10 === 0) await sleep(5);
  }
  const before = rejectedInputs.count('rtp');
  for (let i = 0; i < 5; i++) {
    const forged = Buffer.from(sent[45 + i]!);
    forged[40]! ^= 0x20;
    await send(forged);
    await send(Buffer.from(sent[40 + i]!)); // replay
  }
  await until(() => rejectedInputs.count('rtp') >= before + 10);
  t.equal(rejectedInputs.count('rtp') - before, 10, '5 tampered + 5 replayed packets refused');

  const reinvite = (cseq: number, direction: string, key: SdesCrypto): Promise<string[]> => {
    peer.send(
      request(
        {
          ...base,
          method: 'INVITE',
          branch: `z9hG4bKsr${cseq}`,
          cseq,
          toTag: toTag!,
          body: savpSdp(rtpPort, direction, cseq, key),
        },
        peer.port,
      ),
      sipPort,
    );
    return peer.waitFor((m) => statusOf(m) === 200 && new RegExp(`CSeq: ${cseq} INVITE`).test(m));
  };
  const [held] = await reinvite(2, 'sendonly', peerKey);
  t.match(held ?? '', /a=recvonly/, 'hold answered recvonly');
  const heldKey = parseSdp(bodyOf(held ?? '')).crypto[0];
  t.same(Buffer.from(heldKey!.keySalt), Buffer.from(ourKey.keySalt), 'our key kept on the hold re-INVITE');
  ack('z9hG4bKsr2a', 2);

  const peerKey2 = freshCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
  const [resumed] = await reinvite(3, 'sendrecv', peerKey2);
  t.same(
    Buffer.from(parseSdp(bodyOf(resumed ?? '')).crypto[0]!.keySalt),
    Buffer.from(ourKey.keySalt),
    'and on the resume',
  );
  ack('z9hG4bKsr3a', 3);
  outbound = new SrtpContext(peerKey2); // the peer re-keys: its sequence goes on
  for (let i = 0; i < 20; i++) await send(sealed());
  await sleep(200);

  peer.send(
    request({ ...base, method: 'BYE', branch: 'z9hG4bKsr4', cseq: 4, toTag: toTag! }, peer.port),
    sipPort,
  );
  await until(() => records.length === 1);
  t.equal(records[0]?.endReason, 'remote-bye');
  t.equal(records[0]?.media?.packetsIn, 70, 'every genuine packet, old key and new, and nothing else');
});

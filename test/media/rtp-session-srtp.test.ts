// RtpSession with SRTP over real UDP on 127.0.0.1: two sessions with crossed SDES keys exchange
// audio and RTCP, what crosses the wire is not the plain packet, and forged, replayed or plain
// datagrams are dropped (srtp-* reasons, rejected input kind 'rtp') without touching the latch.
// A re-keyed peer (re-INVITE) is followed. Ports 35000-35099.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { PortPool } from '../../src/media/port-pool.js';
import { serializeRtp } from '../../src/media/rtp-datagram.js';
import { RtpSession, type InboundRtpPacket, type RtpSessionOptions } from '../../src/media/rtp-session.js';
import { SrtpContext, type SrtpKeyParams } from '../../src/media/srtp-context.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';

const host = '127.0.0.1';
const pool = new PortPool({ address: host, portMin: 35000, portMax: 35099 });
const suite = 'AES_CM_128_HMAC_SHA1_80';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(cond: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

async function session(t: Test, options: Omit<RtpSessionOptions, 'pair'>): Promise<RtpSession> {
  const s = new RtpSession({ pair: await pool.allocate(), rtcpIntervalMs: 60_000, ...options });
  t.teardown(() => s.close());
  return s;
}

const key = (): SrtpKeyParams => ({ suite, keySalt: randomBytes(30) });

t.test('SRTP both ways: audio and RTCP arrive, the wire is ciphertext, forgeries are dropped', async (t) => {
  const ka = key();
  const kb = key();
  const a = await session(t, { payloadType: 0, srtp: { local: ka, remote: kb } });
  const b = await session(t, {
    payloadType: 0,
    srtp: { local: kb, remote: ka },
    remote: { address: host, port: a.localPort },
  });
  a.setRemote({ address: host, port: b.localPort });

  const audio: InboundRtpPacket[] = [];
  b.on('audio', (p) => audio.push({ ...p, payload: Buffer.from(p.payload) }));
  for (let i = 0; i < 5; i++) a.sendFrame(Buffer.alloc(160, 0x30 + i), i * 20);
  await until(() => audio.length === 5);
  t.same(
    audio.map((p) => p.payload[0]),
    [0x30, 0x31, 0x32, 0x33, 0x34],
    'b decrypts a',
  );
  t.equal(audio[0]!.payload.length, 160, 'the tag is not part of the payload');
  t.equal(b.stats.bytesIn, 5 * (12 + 160 + 10), 'the datagrams carried the 80-bit tag');

  const backAudio: number[] = [];
  a.on('audio', (p) => backAudio.push(p.payload[0]!));
  b.sendFrame(Buffer.alloc(160, 0x55), 0);
  await until(() => backAudio.length === 1);
  t.same(backAudio, [0x55], 'a decrypts b');

  const reports: number[] = [];
  b.on('rtcp', (r) => reports.push(r.length));
  a.sendRtcpReport();
  await until(() => reports.length === 1);
  t.equal(b.stats.rtcpIn, 1, 'SRTCP report read');

  // Another address sending a's packets: dropped as foreign before any crypto is spent on them.
  const other = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => other.bind(0, host, resolve));
  t.teardown(() => other.close());
  const mirror = new SrtpContext(ka);
  const plain = serializeRtp({
    payloadType: 0,
    seq: 9,
    ts: 0,
    ssrc: 9,
    marker: false,
    payload: Buffer.alloc(160, 1),
  });
  const sealed = Buffer.alloc(plain.length + 10);
  plain.copy(sealed);
  t.equal(mirror.protectRtp(sealed, plain.length), 182);
  t.not(
    sealed.subarray(12, 172).toString('hex'),
    plain.subarray(12).toString('hex'),
    'the payload is encrypted',
  );
  await new Promise<void>((resolve, reject) =>
    other.send(sealed, b.localPort, host, (e) => (e ? reject(e) : resolve())),
  );
  await until(() => b.stats.dropped['foreign-source'] === 1);
  t.equal(audio.length, 5, 'nothing else reached the listeners');
});

t.test('from the latched source: tampered, plain and replayed SRTP dropped as srtp-*', async (t) => {
  const ka = key();
  const kb = key();
  const b = await session(t, { payloadType: 0, srtp: { local: kb, remote: ka } });
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => peer.bind(0, host, resolve));
  t.teardown(() => peer.close());
  const send = (bytes: Buffer) =>
    new Promise<void>((resolve, reject) =>
      peer.send(bytes, b.localPort, host, (e) => (e ? reject(e) : resolve())),
    );
  b.setRemote({ address: host, port: peer.address().port });
  const sender = new SrtpContext(ka);
  const packet = (seq: number, fill: number) => {
    const plain = serializeRtp({
      payloadType: 0,
      seq,
      ts: seq * 160,
      ssrc: 77,
      marker: false,
      payload: Buffer.alloc(160, fill),
    });
    const out = Buffer.alloc(plain.length + 10);
    plain.copy(out);
    return out.subarray(0, sender.protectRtp(out, plain.length));
  };
  const got: number[] = [];
  b.on('audio', (p) => got.push(p.payload[0]!));
  const first = packet(100, 1);
  await send(first);
  await until(() => got.length === 1);
  const before = rejectedInputs.count('rtp');
  const tampered = Buffer.from(packet(101, 2));
  tampered[30]! ^= 0x10;
  await send(tampered);
  await send(first); // replay
  await send(
    serializeRtp({ payloadType: 0, seq: 102, ts: 0, ssrc: 77, marker: false, payload: Buffer.alloc(160) }),
  );
  await until(() => rejectedInputs.count('rtp') >= before + 3);
  const d = b.stats.dropped;
  t.equal(d['srtp-auth-failed'], 2, 'tampered and plain packets fail the tag');
  t.equal(d['srtp-replayed'], 1, 'the replay is refused');
  await send(packet(103, 3));
  await until(() => got.length === 2);
  t.same(got, [1, 3], 'only the genuine packets are heard, and the session goes on');

  // The peer re-keys (re-INVITE): the new key is followed, the old one no longer accepted.
  const k2 = key();
  b.setSrtpRemoteKey(k2);
  const rekeyed = new SrtpContext(k2);
  const plain = serializeRtp({
    payloadType: 0,
    seq: 104,
    ts: 0,
    ssrc: 77,
    marker: false,
    payload: Buffer.alloc(160, 4),
  });
  const out = Buffer.alloc(plain.length + 10);
  plain.copy(out);
  await send(out.subarray(0, rekeyed.protectRtp(out, plain.length)));
  await send(packet(105, 5));
  await until(() => got.length === 3 && b.stats.dropped['srtp-auth-failed'] === 3);
  t.same(got, [1, 3, 4]);
});

// RtpSession over real UDP on 127.0.0.1: two sessions talking, clock-driven timestamps and the
// talkspurt marker, symmetric-RTP latching (rules in rtp-latch.ts), garbage datagrams counted and
// survived, the RTP/RTCP inactivity timeout, DTMF both ways (incl. SIPp's capture replayed),
// comfort noise, 30 ms inbound packets, RTCP BYE on close. Ports 23400-23499.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { PortPool, type PortPair } from '../../src/media/port-pool.js';
import { buildRtcpReport } from '../../src/media/rtcp-reports.js';
import { serializeRtp } from '../../src/media/rtp-datagram.js';
import { RtpSession, type InboundRtpPacket, type RtpSessionOptions } from '../../src/media/rtp-session.js';
import type { DtmfDigitEvent } from '../../src/media/dtmf-event.js';

const host = '127.0.0.1';
const pool = new PortPool({ address: host, portMin: 23400, portMax: 23499 });

/** Resolves when `count` events arrived; rejects after `limitMs` so a broken build fails, not hangs. */
function collect<T>(on: (cb: (v: T) => void) => void, count: number, limitMs = 10_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${count} events`)), limitMs);
    on((v) => {
      got.push(v);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** The session's packet record is rewritten by the next datagram: a test that keeps one copies it. */
function keep(p: InboundRtpPacket): InboundRtpPacket {
  return { ...p, payload: Buffer.from(p.payload) };
}

function sendTo(socket: dgram.Socket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(bytes, port, host, (e) => (e ? reject(e) : resolve())));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function session(t: Test, options: Omit<RtpSessionOptions, 'pair'>): Promise<RtpSession> {
  const s = new RtpSession({ pair: await pool.allocate(), rtcpIntervalMs: 60_000, ...options });
  t.teardown(() => s.close());
  return s;
}

async function rawPeer(t: Test): Promise<PortPair> {
  const p = await pool.allocate();
  t.teardown(() => p.close());
  return p;
}

function rtp(
  seq: number,
  ts: number,
  opts: { pt?: number; ssrc?: number; marker?: boolean; payload?: Buffer } = {},
) {
  return serializeRtp({
    payloadType: opts.pt ?? 0,
    seq,
    ts,
    ssrc: opts.ssrc ?? 0x5eed,
    marker: opts.marker ?? false,
    payload: opts.payload ?? Buffer.alloc(160, 0x7f),
  });
}

t.test('two sessions talk: payloads, sequence, clock-driven timestamps, talkspurt marker', async (t) => {
  const a = await session(t, { payloadType: 8 });
  const b = await session(t, { payloadType: 8, remote: { address: host, port: a.localPort } });
  a.setRemote({ address: host, port: b.localPort });
  const got = collect<InboundRtpPacket>((cb) => b.on('audio', (p) => cb(keep(p))), 20);
  // 10 frames, 5 ticks of silence, 10 frames: ticks at 20 ms on the media clock timeline.
  for (let tick = 0; tick < 25; tick++) {
    const payload = tick >= 10 && tick < 15 ? null : Buffer.alloc(160, tick);
    a.sendFrame(payload, 1000 + tick * 20);
  }
  const packets = await got;
  t.same(
    packets.map((p) => p.payload[0]),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
  );
  t.ok(packets.every((p) => p.payloadType === 8 && p.ssrc === a.ssrc && p.payload.length === 160));
  const seqSteps = packets.slice(1).map((p, i) => (p.seq - packets[i]!.seq + 65536) % 65536);
  t.ok(
    seqSteps.every((d) => d === 1),
    'sequence +1 per packet sent, also across the silence',
  );
  const tsSteps = packets.slice(1).map((p, i) => (p.ts - packets[i]!.ts) >>> 0);
  t.same(tsSteps, [
    160,
    160,
    160,
    160,
    160,
    160,
    160,
    160,
    160,
    6 * 160,
    160,
    160,
    160,
    160,
    160,
    160,
    160,
    160,
    160,
  ]);
  t.same(
    packets.map((p, i) => (p.marker ? i : -1)).filter((i) => i >= 0),
    [0, 10],
    'marker on the first packet and on the first after the silence',
  );
  t.equal(a.stats.packetsOut, 20);
  t.equal(a.stats.bytesOut, 20 * 172);
  t.equal(b.stats.packetsIn, 20);
  t.equal(b.stats.bytesIn, 20 * 172);
  t.same(b.remote, { address: host, port: a.localPort });
  t.equal(b.stats.inbound?.cumulativeLost, 0);
  // Two sessions pick independent random SSRC / seq / ts origins.
  t.not(a.ssrc, b.ssrc);
});

t.test(
  'latching over UDP: the SDP source at once, a NATed source after probation, never a foreign one afterwards, not even after silence',
  async (t) => {
    const nat = await rawPeer(t); // where the packets really come from
    const other = await rawPeer(t);
    const s = await session(t, {
      payloadType: 0,
      remote: { address: host, port: 9 }, // SDP says port 9 (discard): a private address behind NAT
    });
    const latched = collect<[unknown, boolean]>((cb) => s.on('latched', (r, re) => cb([r, re])), 1);
    const audio: InboundRtpPacket[] = [];
    s.on('audio', (p) => audio.push(keep(p)));
    // A packet with an un-negotiated payload type does not count toward latching.
    await sendTo(other.rtpSocket, rtp(1, 160, { pt: 18 }), s.localPort);
    // Not the SDP address: 4 in-sequence packets of one SSRC latch, the first 3 are held back.
    for (let seq = 1; seq <= 4; seq++) await sendTo(nat.rtpSocket, rtp(seq, seq * 160), s.localPort);
    t.same((await latched)[0], [{ address: host, port: nat.rtpPort }, false]);
    t.same(s.remote, { address: host, port: nat.rtpPort });
    t.equal(s.stats.dropped['latch-probation'], 3);
    // Our RTP now goes to the NATed source, not to the SDP port.
    const echo = collect<Buffer>((cb) => nat.rtpSocket.on('message', cb), 1);
    s.sendFrame(Buffer.alloc(160), 0);
    t.equal((await echo)[0]!.length, 172);
    // While the latched source is active, another source is ignored; after 400 ms of silence too.
    await sendTo(other.rtpSocket, rtp(7, 7 * 160), s.localPort);
    await sendTo(nat.rtpSocket, rtp(5, 5 * 160), s.localPort);
    await sleep(400);
    for (let seq = 8; seq < 16; seq++) await sendTo(other.rtpSocket, rtp(seq, seq * 160), s.localPort);
    await sleep(50);
    t.equal(s.stats.dropped['foreign-source'], 9);
    t.equal(s.stats.dropped['unknown-payload-type'], 1);
    t.same(s.remote, { address: host, port: nat.rtpPort });
    t.equal(s.stats.relatches, 0);
    t.same(
      audio.map((p) => p.seq),
      [4, 5],
    );
    // A re-INVITE repeating the address keeps the latch; one naming a new address learns afresh,
    // and the source it names latches with its first packet.
    s.setRemote({ address: host, port: 9 });
    t.equal(s.stats.latched, true);
    s.setRemote({ address: host, port: other.rtpPort });
    t.equal(s.stats.latched, false);
    t.same(s.remote, { address: host, port: other.rtpPort });
    const relatched = collect<[unknown, boolean]>((cb) => s.on('latched', (r, re) => cb([r, re])), 1);
    await sendTo(other.rtpSocket, rtp(20, 20 * 160), s.localPort);
    t.same((await relatched)[0], [{ address: host, port: other.rtpPort }, true]);
    t.equal(s.stats.relatches, 1);
  },
);

t.test('garbage datagrams are dropped, counted by reason, and the session keeps working', async (t) => {
  const peer = await rawPeer(t);
  const s = await session(t, {
    payloadType: 0,
    telephoneEventPayloadType: 101,
    remote: { address: host, port: peer.rtpPort, rtcpPort: peer.rtcpPort },
  });
  // ~0.5% of random datagrams are valid RTP by chance (v2, PT 0/13/101, consistent lengths):
  // wait for our marked packet, not just any audio.
  const good = collect<InboundRtpPacket>((cb) => s.on('audio', (p) => p.ssrc === 0xfeed && cb(keep(p))), 1);
  const csrcClaim = rtp(1, 1, { payload: Buffer.alloc(8) });
  csrcClaim[0] = 0x8f; // 15 CSRCs (60 bytes) announced, 8 bytes follow the fixed header
  const v0 = rtp(1, 1);
  v0[0] = 0x00;
  const rtcpOnRtpPort = buildRtcpReport({ ssrc: 1, cname: 'x', nowMs: 0, reports: [] }).bytes;
  const garbage: [string, Buffer][] = [
    ['too-short', Buffer.alloc(0)],
    ['too-short', Buffer.from([0x80, 0x00, 0x00])],
    ['csrc-overrun', csrcClaim],
    ['bad-version', v0],
    ['rtcp-on-rtp-port', rtcpOnRtpPort],
    ['unknown-payload-type', rtp(1, 1, { pt: 96 })],
    ['bad-payload', rtp(1, 1, { payload: Buffer.alloc(0) })],
    ['bad-payload', rtp(1, 1, { pt: 101, payload: Buffer.alloc(2) })],
    ['too-large', Buffer.concat([rtp(1, 1), Buffer.alloc(1500)])],
  ];
  for (const [, bytes] of garbage) await sendTo(peer.rtpSocket, bytes, s.localPort);
  // 200 random datagrams: none may throw; each lands in some drop reason (or is valid by chance,
  // or, valid with another SSRC than the one latched, is held back in SSRC probation).
  for (let i = 0; i < 200; i++) await sendTo(peer.rtpSocket, randomBytes(1 + (i % 300)), s.localPort);
  // Garbage on the RTCP port too.
  await sendTo(peer.rtcpSocket, randomBytes(40), s.localRtcpPort);
  await sendTo(peer.rtcpSocket, Buffer.from([0x81, 0xc9, 0x00, 0x40, 1, 2, 3, 4]), s.localRtcpPort);
  await sleep(100);
  // Two in sequence: if a random datagram latched another SSRC first, the second passes probation.
  await sendTo(peer.rtpSocket, rtp(2, 2, { ssrc: 0xfeed }), s.localPort);
  await sendTo(peer.rtpSocket, rtp(3, 3, { ssrc: 0xfeed }), s.localPort);
  const [packet] = await good;
  t.ok(packet!.seq === 2 || packet!.seq === 3, 'a valid packet after the garbage is delivered');
  await sleep(50);
  const d = s.stats.dropped;
  for (const reason of new Set(garbage.map(([r]) => r))) {
    const expected = garbage.filter(([r]) => r === reason).length;
    t.ok(d[reason as keyof typeof d] >= expected, `${reason}: ${d[reason as keyof typeof d]} ≥ ${expected}`);
  }
  t.equal(d['bad-rtcp'], 2);
  const droppedTotal = Object.values(d).reduce((x, y) => x + y, 0);
  t.equal(droppedTotal + s.stats.packetsIn, garbage.length + 200 + 2 + 2, 'every datagram accounted for');
});

t.test(
  'RTP timeout fires without traffic, not while only RTCP flows, then fires when RTCP stops',
  async (t) => {
    const silent = await session(t, { payloadType: 0, rtpTimeoutMs: 200 });
    const [silentMs] = await collect<number>((cb) => silent.on('timeout', cb), 1);
    t.ok(silentMs! >= 200, 'no traffic at all: timeout');

    const peer = await rawPeer(t);
    const kept = await session(t, {
      payloadType: 0,
      rtpTimeoutMs: 600,
      remote: { address: host, port: peer.rtpPort },
    });
    let timedOut = false;
    kept.on('timeout', () => (timedOut = true));
    const rr = buildRtcpReport({ ssrc: 0x77, cname: 'peer', nowMs: 0, reports: [] }).bytes;
    // RTCP every 100 ms for 1.5 s (2.5× the timeout), no RTP at all: silence suppression on hold.
    for (let i = 0; i < 15; i++) {
      await sendTo(peer.rtcpSocket, rr, kept.localRtcpPort);
      await sleep(100);
    }
    t.equal(kept.stats.rtcpIn, 15);
    t.notOk(timedOut, 'RTCP keeps the session alive');
    await collect<number>((cb) => kept.on('timeout', cb), 1);
    t.pass('timeout once RTCP stopped too');

    // Comfort noise (PT 13, not negotiated) also counts as traffic and is handed up separately.
    const cn = await session(t, {
      payloadType: 0,
      rtpTimeoutMs: 600,
      remote: { address: host, port: peer.rtpPort },
    });
    let cnTimedOut = false;
    cn.on('timeout', () => (cnTimedOut = true));
    let cnPackets = 0;
    cn.on('comfort-noise', () => cnPackets++);
    for (let i = 0; i < 15; i++) {
      await sendTo(peer.rtpSocket, rtp(i, i * 1600, { pt: 13, payload: Buffer.from([40]) }), cn.localPort);
      await sleep(100);
    }
    t.equal(cnPackets, 15);
    t.notOk(cnTimedOut, 'comfort noise keeps the session alive');
  },
);

t.test("DTMF: session to session, and SIPp's captured telephone-events replayed", async (t) => {
  const a = await session(t, { payloadType: 0, telephoneEventPayloadType: 101 });
  const b = await session(t, {
    payloadType: 0,
    telephoneEventPayloadType: 101,
    remote: { address: host, port: a.localPort },
  });
  a.setRemote({ address: host, port: b.localPort });
  const digits = collect<DtmfDigitEvent>((cb) => b.on('dtmf', cb), 3);
  const audio: InboundRtpPacket[] = [];
  b.on('audio', (p) => audio.push(keep(p)));
  const sent = a.sendDtmf('1#D', { durationMs: 60, gapMs: 40 });
  for (let tick = 0; tick < 40; tick++) a.sendFrame(Buffer.alloc(160, 0x55), tick * 20);
  await sent;
  t.same(
    (await digits).map((d) => d.digit),
    ['1', '#', 'D'],
  );
  t.equal(a.stats.dtmfOut, 3);
  t.equal(b.stats.dtmfIn, 3);
  // 3 events × (2 updates + 3 ends) = 15 ticks carried events instead of audio.
  await sleep(50);
  t.equal(audio.length, 40 - 15, 'audio is replaced, not interleaved, during events');
  t.equal(b.stats.inbound?.cumulativeLost, 0, 'one sequence space for audio and events');
  const noTe = await session(t, { payloadType: 0 });
  await t.rejects(noTe.sendDtmf('1'), /telephone-event was not negotiated/);
  await t.rejects(a.sendDtmf('X'), RangeError);

  // SIPp's dtmf_2833_8.pcap payloads (PT 101) sent to a fresh session as they are (b is latched
  // to a, so it would drop them as foreign-source).
  const peer = await rawPeer(t);
  const c = await session(t, {
    payloadType: 0,
    telephoneEventPayloadType: 101,
    remote: { address: host, port: peer.rtpPort },
  });
  const file = readFileSync('/usr/share/sip-tester/dtmf_2833_8.pcap');
  const replay = collect<DtmfDigitEvent>((cb) => c.on('dtmf', cb), 1);
  for (let off = 24; off + 16 <= file.length;) {
    const len = file.readUInt32LE(off + 8);
    const frame = file.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    await sendTo(peer.rtpSocket, frame.subarray(14 + 20 + 8), c.localPort); // Ethernet+IPv4+UDP
  }
  t.equal((await replay)[0]!.digit, '8');
  await sleep(50);
  t.equal(c.stats.dtmfIn, 1, 'one digit for 10 packets (3 identical end packets)');
  t.equal(c.stats.packetsIn, 10);
});

t.test('inbound packets of another ptime (30 ms) are handed up as they are', async (t) => {
  const peer = await rawPeer(t);
  const s = await session(t, { payloadType: 0, remote: { address: host, port: peer.rtpPort } });
  const got = collect<InboundRtpPacket>((cb) => s.on('audio', (p) => cb(keep(p))), 5);
  for (let i = 0; i < 5; i++) {
    await sendTo(peer.rtpSocket, rtp(100 + i, i * 240, { payload: Buffer.alloc(240, i) }), s.localPort);
  }
  const packets = await got;
  t.same(
    packets.map((p) => [p.seq, p.ts, p.payload.length, p.payload[0]]),
    [0, 1, 2, 3, 4].map((i) => [100 + i, i * 240, 240, i]),
  );
  t.ok(packets.every((p) => typeof p.arrivalMs === 'number' && p.arrivalMs > 0));
});

t.test('close sends RTCP BYE, frees the ports, and is idempotent', async (t) => {
  const a = await session(t, { payloadType: 0 });
  const bPair = await pool.allocate();
  const b = new RtpSession({ pair: bPair, payloadType: 0, remote: { address: host, port: a.localPort } });
  a.setRemote({ address: host, port: b.localPort });
  // Let a latch b's address so RTCP source checks pass.
  b.sendFrame(Buffer.alloc(160), 0);
  await collect((cb) => a.on('audio', cb), 1);
  const bye = collect<[number[], string | undefined]>(
    (cb) => a.on('bye', (ssrcs, reason) => cb([ssrcs, reason])),
    1,
  );
  const inUse = pool.inUse;
  await Promise.all([b.close('hangup'), b.close('again')]);
  t.same((await bye)[0], [[b.ssrc], 'hangup']);
  t.equal(pool.inUse, inUse - 1, 'pair back in the pool');
  b.sendFrame(Buffer.alloc(160), 20); // after close: a no-op, no throw
  t.equal(b.stats.packetsOut, 1);
});

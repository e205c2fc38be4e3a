// RTCP reports: RFC 3550 A.1/A.3/A.8 statistics on known patterns, SR/RR/SDES/BYE build and
// parse, and a real UDP round trip where a hand-driven peer drops every 10th packet and reads
// the loss, jitter and LSR/DLSR our RtpSession reports. Ports 23200-23219.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { PortPool } from '../../src/media/port-pool.js';
import {
  buildRtcpReport,
  ntpMiddle32,
  ntpTimeAt,
  parseRtcpReport,
  ReceptionStats,
  roundTripMs,
  SenderStats,
  type RtcpReport,
} from '../../src/media/rtcp-reports.js';
import { serializeRtp } from '../../src/media/rtp-datagram.js';
import { RtpSession } from '../../src/media/rtp-session.js';

t.test('loss: every 10th of 100 packets dropped → 10 lost, fraction 25/256', async (t) => {
  const s = new ReceptionStats(0x1234, 0);
  for (let seq = 0; seq < 100; seq++) if (seq % 10 !== 5) s.onRtp(seq, seq * 160, seq * 20);
  const r = s.report(2000);
  t.equal(r.totalLost, 10);
  t.equal(r.fractionLost, 25, 'floor(10 × 256 / 100)');
  t.equal(r.highestSeq, 99);
  t.equal(s.expected, 100);
  // Next interval: 50 packets, none lost.
  for (let seq = 100; seq < 150; seq++) s.onRtp(seq, seq * 160, seq * 20);
  const r2 = s.report(3000);
  t.equal(r2.fractionLost, 0, 'fraction is per interval');
  t.equal(r2.totalLost, 10, 'cumulative stays');
});

t.test('sequence wrap, reordering, duplicates and a source restart (RFC 3550 A.1)', async (t) => {
  const s = new ReceptionStats(1, 65530);
  for (let i = 0; i < 12; i++) s.onRtp((65530 + i) % 65536, i * 160, i * 20);
  t.equal(s.extendedHighestSeq, 65536 + 5, 'one cycle counted');
  t.equal(s.cumulativeLost, 0);
  s.onRtp(3, 0, 300); // late duplicate/reordered: counted as received, no new max
  t.equal(s.extendedHighestSeq, 65541);
  t.equal(s.cumulativeLost, -1, 'duplicates can make cumulative loss negative');
  t.equal(s.onRtp(40000, 0, 320), false, 'a big jump is held back');
  t.equal(s.onRtp(40001, 160, 340), true, 'the next packet in sequence confirms a restart');
  t.equal(s.restarts, 1);
  t.equal(s.expected, 1);
});

t.test('interarrival jitter (A.8) on a known arrival pattern', async (t) => {
  // Packets every 20 ms of media, arriving alternately 0 and 5 ms late: |D| = 40 ts units each.
  const s = new ReceptionStats(1, 0);
  let expected = 0;
  for (let i = 0; i < 200; i++) {
    s.onRtp(i, i * 160, i * 20 + (i % 2) * 5);
    if (i > 0) expected += (40 - expected) / 16;
  }
  t.ok(Math.abs(s.jitterTs - expected) < 1e-9);
  t.ok(Math.abs(s.jitterTs - 40) < 0.1, 'converges to 40 units = 5 ms');
  t.ok(Math.abs(s.jitterMs - 5) < 0.02);
  t.equal(s.report(5000).jitter, Math.floor(s.jitterTs));
  // Telephone-events (constant ts) must not be measured.
  const before = s.jitterTs;
  for (let i = 200; i < 210; i++) s.onRtp(i, 199 * 160, i * 20, false);
  t.equal(s.jitterTs, before);
});

t.test('SR + RR blocks + SDES + BYE build and parse back; garbage throws', async (t) => {
  const sender = new SenderStats();
  sender.onSent(1000, 160, 100);
  sender.onSent(1160, 160, 120);
  const block = {
    ssrc: 7,
    fractionLost: 25,
    totalLost: 10,
    highestSeq: 65541,
    jitter: 40,
    lsr: 0x12345678,
    dlsr: 65536,
  };
  const { bytes, srNtpMiddle } = buildRtcpReport({
    ssrc: 99,
    cname: 'bot@test',
    nowMs: 140,
    sender,
    reports: [block],
    bye: 'call ended',
  });
  const parsed = parseRtcpReport(bytes);
  t.equal(parsed.length, 2, 'SR and BYE (SDES is skipped)');
  const sr = parsed[0] as Extract<RtcpReport, { kind: 'sr' }>;
  t.equal(sr.kind, 'sr');
  t.equal(sr.ssrc, 99);
  t.equal(sr.packetCount, 2);
  t.equal(sr.octetCount, 320);
  t.equal(sr.rtpTs, 1160 + 160, 'RTP timestamp extrapolated to the report time (20 ms later)');
  t.equal(ntpMiddle32(sr.ntp), srNtpMiddle);
  t.same(sr.reports, [block]);
  t.same(parsed[1], { kind: 'bye', ssrcs: [99], reason: 'call ended' });
  const rrOnly = parseRtcpReport(buildRtcpReport({ ssrc: 5, cname: 'x', nowMs: 0, reports: [] }).bytes);
  t.same(rrOnly, [{ kind: 'rr', ssrc: 5, reports: [] }], 'nothing sent yet: RR');
  t.throws(() => parseRtcpReport(Buffer.alloc(3)), { name: 'RtcpFormatError', fault: 'too-short' });
  t.throws(() => parseRtcpReport(Buffer.from('0123456789abcdef')), {
    name: 'RtcpFormatError',
    fault: 'bad-version',
  });
  const truncated = Buffer.from(bytes.subarray(0, 20));
  t.throws(() => parseRtcpReport(truncated));
});

t.test('NTP time and round-trip time from LSR/DLSR', async (t) => {
  const now = performance.now();
  const ntp = ntpTimeAt(now);
  t.ok(Math.abs(ntp.seconds - 2208988800 - Date.now() / 1000) < 2, 'NTP seconds since 1900');
  // The peer held our SR for 0.5 s; it reached us 0.5 s + 30 ms after we sent it.
  const sentAt = now - 530;
  const lsr = ntpMiddle32(ntpTimeAt(sentAt));
  const rtt = roundTripMs(
    { ssrc: 1, fractionLost: 0, totalLost: 0, highestSeq: 0, jitter: 0, lsr, dlsr: 32768 },
    now,
  );
  t.ok(rtt !== undefined && Math.abs(rtt - 30) < 0.2, `rtt ${rtt} ≈ 30 ms`);
  t.equal(
    roundTripMs({ ssrc: 1, fractionLost: 0, totalLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 }, now),
    undefined,
  );
});

function nextMessage(socket: dgram.Socket): Promise<Buffer> {
  return new Promise((resolve) => socket.once('message', (b) => resolve(b)));
}

t.test('UDP round trip: the session reports the loss and jitter of what a peer sent', async (t) => {
  const pool = new PortPool({ address: '127.0.0.1', portMin: 23200, portMax: 23219 });
  const peer = await pool.allocate(); // a hand-driven far end: raw sockets on an even/odd pair
  const pair = await pool.allocate();
  const session = new RtpSession({
    pair,
    payloadType: 0,
    remote: { address: '127.0.0.1', port: peer.rtpPort },
    rtcpIntervalMs: 60_000, // reports sent by hand below
  });
  t.teardown(async () => {
    await session.close();
    await peer.close();
  });
  const send = (s: dgram.Socket, b: Buffer, port: number): Promise<void> =>
    new Promise((resolve, reject) => s.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));

  // 1. Peer sends an SR first, so our RR can carry LSR/DLSR.
  const peerSsrc = 0xabcdef01;
  const peerSender = new SenderStats();
  peerSender.onSent(0, 160, performance.now());
  const peerSr = buildRtcpReport({
    ssrc: peerSsrc,
    cname: 'peer',
    nowMs: performance.now(),
    sender: peerSender,
    reports: [],
  });
  // 2. 100 packets in one burst (arrival deltas ≈ 0), every 10th (seq % 10 == 5) dropped.
  const payload = Buffer.alloc(160, 0xff);
  const seqBase = 65500; // crosses the wrap
  let received = 0;
  const allIn = new Promise<void>((resolve) =>
    session.on('audio', () => {
      if (++received === 90) resolve();
    }),
  );
  for (let i = 0; i < 100; i++) {
    if (i % 10 === 5) continue;
    const bytes = serializeRtp({
      payloadType: 0,
      seq: (seqBase + i) & 0xffff,
      ts: 1000 + i * 160,
      ssrc: peerSsrc,
      marker: i === 0,
      payload,
    });
    await send(peer.rtpSocket, bytes, pair.rtpPort);
  }
  await allIn;
  const rtcpIn = new Promise<void>((resolve) => session.once('rtcp', () => resolve()));
  await send(peer.rtcpSocket, peerSr.bytes, pair.rtcpPort);
  await rtcpIn;
  // Our session also sends some audio so its report is an SR.
  for (let i = 0; i < 5; i++) session.sendFrame(payload, i * 20);
  for (let i = 0; i < 5; i++) await nextMessage(peer.rtpSocket);

  const reportIn = nextMessage(peer.rtcpSocket);
  session.sendRtcpReport();
  const reports = parseRtcpReport(await reportIn);
  const sr = reports[0];
  if (sr?.kind !== 'sr') throw new Error(`expected an SR, got ${sr?.kind}`);
  t.equal(sr.ssrc, session.ssrc);
  t.equal(sr.packetCount, 5);
  t.equal(sr.octetCount, 5 * 160);
  const block = sr.reports[0]!;
  t.equal(block.ssrc, peerSsrc);
  t.equal(block.totalLost, 10, '10 of 100 lost');
  t.equal(block.fractionLost, 25, 'fraction lost 25/256');
  t.equal(block.highestSeq, 65536 + ((seqBase + 99) & 0xffff), 'extended highest seq after the wrap');
  // A burst sends with arrival deltas ≈ 0: |D| is 160 (320 across a gap) per packet.
  let expectedJitter = 0;
  for (let i = 1; i < 100; i++) {
    if (i % 10 === 5) continue;
    const d = i % 10 === 6 ? 320 : 160;
    expectedJitter += (d - expectedJitter) / 16;
  }
  t.ok(
    Math.abs(block.jitter - expectedJitter) <= 16,
    `jitter ${block.jitter} ≈ ${expectedJitter.toFixed(1)} ts units`,
  );
  const peerSrSent = parseRtcpReport(peerSr.bytes)[0] as Extract<RtcpReport, { kind: 'sr' }>;
  t.equal(block.lsr, ntpMiddle32(peerSrSent.ntp), 'LSR = middle 32 bits of the peer SR NTP time');
  t.ok(block.dlsr > 0 && block.dlsr < 65536 * 5, `DLSR ${block.dlsr} / 65536 s`);

  // 3. The peer answers with an RR about our stream; the session derives RTT from it.
  const rrIn = new Promise<void>((resolve) => session.once('rtcp', () => resolve()));
  const rr = buildRtcpReport({
    ssrc: peerSsrc,
    cname: 'peer',
    nowMs: performance.now(),
    reports: [
      {
        ssrc: session.ssrc,
        fractionLost: 12,
        totalLost: 3,
        highestSeq: 5,
        jitter: 80,
        lsr: ntpMiddle32(sr.ntp),
        dlsr: 0,
      },
    ],
  });
  await send(peer.rtcpSocket, rr.bytes, pair.rtcpPort);
  await rrIn;
  const out = session.stats.outbound!;
  t.equal(out.fractionLost, 12);
  t.equal(out.cumulativeLost, 3);
  t.equal(out.jitterMs, 10);
  t.ok(out.rttMs !== undefined && out.rttMs >= 0 && out.rttMs < 5000, `rtt ${out.rttMs} ms`);
  t.equal(session.stats.inbound?.cumulativeLost, 10);
  t.equal(session.stats.rtcpIn, 2);
});

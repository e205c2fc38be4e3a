// The RTP/RTCP input edge, class by class: each malformed RTP datagram is refused with its own
// reason (rtp-datagram.ts), each malformed compound RTCP packet with its RFC 3550 A.2 fault
// (rtcp-reports.ts), the latching and SSRC rules of rtp-latch.ts on made-up addresses, the rtp.js
// 0.15.5 behaviours the checks exist for, and the session's input boundary over real UDP (a
// throwing listener, rejected-input counts). Ports 23700-23749.
import dgram from 'node:dgram';
import t from 'tap';
import { RtpPacket } from 'rtp.js/packets';
import { nodeBufferToDataView } from 'rtp.js/utils';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { PortPool } from '../../src/media/port-pool.js';
import { buildRtcpReport, parseRtcpReport, rtcpCompoundFault } from '../../src/media/rtcp-reports.js';
import { checkRtpHeader, parseRtpDatagram, serializeRtp } from '../../src/media/rtp-datagram.js';
import { RtpLatch, canonicalHost, latchProbationPackets } from '../../src/media/rtp-latch.js';
import { RtpSession, type InboundRtpPacket } from '../../src/media/rtp-session.js';

const negotiated = new Set([0, 13, 101]);

/** An RTP packet (PT 0, seq 1, SSRC 0x5eed) with `payloadBytes` of payload, then `edit` on its bytes. */
function rtp(payloadBytes = 160, edit: (b: Buffer) => void = () => undefined): Buffer {
  const b = serializeRtp({
    payloadType: 0,
    seq: 1,
    ts: 160,
    ssrc: 0x5eed,
    marker: false,
    payload: Buffer.alloc(payloadBytes, 0x7f),
  });
  edit(b);
  return b;
}

/** A fixed header followed by `rest` (CSRCs, extension, payload, padding as the case needs). */
function header(first: number, rest: number[]): Buffer {
  return Buffer.from([first, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0x5e, 0xed, ...rest]);
}

t.test('RTP: each malformed class is refused with its reason', async (t) => {
  const cases: [string, Buffer, string][] = [
    ['empty datagram', Buffer.alloc(0), 'too-short'],
    ['11 bytes: one short of the fixed header', Buffer.alloc(11, 0x80), 'too-short'],
    ['1501 bytes: over the MTU-sized limit', rtp(1489), 'too-large'],
    ['version 0', rtp(160, (b) => (b[0] = 0x00)), 'bad-version'],
    ['version 1', rtp(160, (b) => (b[0] = 0x40)), 'bad-version'],
    ['version 3', rtp(160, (b) => (b[0] = 0xc0)), 'bad-version'],
    ['RTCP SR (PT byte 200) on the RTP port', rtp(160, (b) => (b[1] = 200)), 'rtcp-on-rtp-port'],
    ['PT 96, not negotiated', rtp(160, (b) => (b[1] = 96)), 'unknown-payload-type'],
    ['PT 8 while PCMU (0) was negotiated', rtp(160, (b) => (b[1] = 8)), 'unknown-payload-type'],
    [
      'CC=15 (60 bytes of CSRC), 8 bytes after the header',
      header(0x8f, [1, 2, 3, 4, 5, 6, 7, 8]),
      'csrc-overrun',
    ],
    ['CC=1, nothing after the header', header(0x81, []), 'csrc-overrun'],
    ['X=1, no room for the extension header', header(0x90, [0xbe, 0xde]), 'extension-overrun'],
    [
      'X=1, extension length 0xffff words',
      header(0x90, [0xbe, 0xde, 0xff, 0xff, 1, 2, 3, 4]),
      'extension-overrun',
    ],
    [
      'X=1, 2 words announced, 1 present',
      header(0x90, [0x10, 0x00, 0x00, 0x02, 1, 2, 3, 4]),
      'extension-overrun',
    ],
    ['CC=1 + X=1, extension header cut by the CSRC', header(0x91, [0, 0, 0, 1, 0xbe]), 'extension-overrun'],
    ['P=1, padding count 0', header(0xa0, [1, 2, 3, 0]), 'bad-padding'],
    ['P=1, padding count 9, 4 bytes after the header', header(0xa0, [1, 2, 3, 9]), 'bad-padding'],
    ['P=1, padding count covers the whole packet', header(0xa0, [1, 2, 3, 16]), 'bad-padding'],
    ['P=1, padding eats the whole payload', header(0xa0, [1, 2, 3, 4]), 'bad-payload'],
    ['no payload at all', header(0x80, []), 'bad-payload'],
    [
      'one-byte extension element longer than its block (rtp.js throws)',
      header(0x90, [0xbe, 0xde, 0x00, 0x01, 0x1f, 0, 0, 0, 1, 2]),
      'malformed',
    ],
  ];
  for (const [name, bytes, reason] of cases) {
    t.equal(parseRtpDatagram(bytes, 0, negotiated, 1500), reason, name);
  }
});

t.test('RTP: well-formed packets with CSRCs, an extension and padding give the right payload', async (t) => {
  // CC=1, X=1 (one-byte extension block of 1 word), P=1 with 3 bytes of padding; payload 0xaa 0xbb.
  const full = header(0xb1, [0, 0, 0, 9, 0xbe, 0xde, 0x00, 0x01, 0x10, 0x42, 0, 0, 0xaa, 0xbb, 0, 0, 3]);
  t.equal(checkRtpHeader(full, negotiated, 1500), 2);
  const parsed = parseRtpDatagram(full, 7, negotiated, 1500);
  if (typeof parsed === 'string') throw new Error(`refused: ${parsed}`);
  t.same([...parsed.payload], [0xaa, 0xbb]);
  t.same([parsed.seq, parsed.ts, parsed.ssrc, parsed.payloadType, parsed.arrivalMs], [1, 160, 0x5eed, 0, 7]);
  // Comfort noise (13) and telephone-event (101) are accepted payload types; the marker is read.
  const cn = rtp(1, (b) => (b[1] = 0x80 | 13));
  const cnParsed = parseRtpDatagram(cn, 0, negotiated, 1500);
  t.match(cnParsed, { payloadType: 13, marker: true });
});

t.test('rtp.js 0.15.5: the behaviours the checks run before it for', async (t) => {
  const parse = (b: Buffer) => new RtpPacket(nodeBufferToDataView(b));
  // Accepts silently what RFC 3550 §5.1 forbids or what is not RTP:
  t.equal(parse(header(0xa0, [1, 2, 3, 0])).getPadding(), 0, 'padding count 0 accepted');
  t.equal(parse(rtp(160, (b) => (b[1] = 200))).getPayloadType(), 72, 'RTCP SR read as PT 72 + marker');
  // Throws on an empty view (isRtp reads byte 0 before checking the length):
  t.throws(() => parse(Buffer.alloc(0)), RangeError);
  // Bounds the extension by the ArrayBuffer, not the view: on a pooled Buffer the overrun is
  // reported as a padding problem, after reading past the datagram.
  // (profile 0x1234: neither RFC 8285 form, so rtp.js does not walk elements of the block)
  const overrun = header(0x90, [0x12, 0x34, 0x00, 0x02, 1, 2, 3, 4]);
  const pooled = Buffer.allocUnsafe(overrun.length); // a slice of Node's 8 KiB pool
  overrun.copy(pooled);
  t.ok(pooled.buffer.byteLength > pooled.length, 'the test buffer shares a bigger ArrayBuffer');
  t.throws(() => parse(pooled), /announced padding/);
  t.equal(checkRtpHeader(pooled, negotiated, 1500), 'extension-overrun', 'ours names the real fault');
});

/** One RTCP packet of `type` with `words` 32-bit words after its header (length field = words). */
function rtcp(type: number, words: number, first = 0x80): Buffer {
  const b = Buffer.alloc(4 + words * 4);
  b[0] = first;
  b[1] = type;
  b.writeUInt16BE(words, 2);
  return b;
}

t.test('RTCP: each malformed compound class is refused with its RFC 3550 A.2 fault', async (t) => {
  const rr = rtcp(201, 1); // RR with no report blocks: header + SSRC
  const sdes = rtcp(202, 1);
  const cases: [string, Buffer, string][] = [
    ['3 bytes', Buffer.from([0x80, 201, 0]), 'too-short'],
    ['version 0 first packet', rtcp(201, 1, 0x00), 'bad-version'],
    ['version 2 RR then a version 1 packet', Buffer.concat([rr, rtcp(202, 1, 0x40)]), 'bad-version'],
    ['RTP (PT 0) on the RTCP port', rtp(), 'not-rtcp'],
    ['RR then packet type 100', Buffer.concat([rr, rtcp(100, 1)]), 'not-rtcp'],
    ['BYE alone (no SR/RR first)', rtcp(203, 1, 0x81), 'first-not-report'],
    ['SDES first', Buffer.concat([sdes, rr]), 'first-not-report'],
    ['padded RR before an SDES', Buffer.concat([rtcp(201, 1, 0xa0), sdes]), 'padding-not-last'],
    ['length field past the datagram', (() => Buffer.from(rr).fill(0xff, 2, 4))(), 'bad-length'],
    ['RR + 3 trailing bytes', Buffer.concat([rr, Buffer.from([0x80, 202, 0])]), 'bad-length'],
    [
      'RR + 4 trailing bytes announcing more',
      Buffer.concat([rr, Buffer.from([0x80, 202, 0, 1])]),
      'bad-length',
    ],
  ];
  for (const [name, bytes, fault] of cases) {
    t.equal(rtcpCompoundFault(bytes), fault, name);
    t.throws(() => parseRtcpReport(bytes), { name: 'RtcpFormatError', fault }, `${name}: parse refuses`);
  }
  // Passes the walk, but the RR's body claims 3 report blocks in 4 bytes: rtp.js throws.
  const rcLie = rtcp(201, 1, 0x83);
  t.equal(rtcpCompoundFault(rcLie), undefined);
  t.throws(() => parseRtcpReport(rcLie), RangeError);
  // What we send passes: SR/RR + SDES + BYE, and a padded last packet.
  const ours = buildRtcpReport({ ssrc: 1, cname: 'x', nowMs: 0, reports: [], bye: 'bye' }).bytes;
  t.equal(rtcpCompoundFault(ours), undefined);
  const paddedLast = Buffer.concat([rr, rtcp(202, 1, 0xa0)]);
  paddedLast[paddedLast.length - 1] = 4;
  t.equal(rtcpCompoundFault(paddedLast), undefined, 'padding on the last packet is fine');
});

const sdp = { address: '203.0.113.5', port: 40000 };
const natted = { address: '198.51.100.7', port: 61000 };

t.test(
  'latch: the SDP address:port latches at once; anything else after 4 in-sequence packets',
  async (t) => {
    const latch = new RtpLatch(sdp);
    t.same(latch.destination, sdp, 'we send to the SDP address until latched');
    t.equal(latch.accept(sdp, 0xaaaa, 100), 'latched');
    t.same(latch.latched, sdp);
    t.equal(latch.ssrc, 0xaaaa);

    const nat = new RtpLatch(sdp);
    const seen = [1, 2, 3, 4].map((i) => nat.accept(natted, 0xbbbb, 500 + i));
    t.same(seen, ['latch-probation', 'latch-probation', 'latch-probation', 'latched']);
    t.equal(latchProbationPackets, 4);
    t.same(nat.destination, natted, 'after probation we send to the NAT mapping');

    // Probation restarts on a gap, another SSRC, or another source in between.
    const strict = new RtpLatch(sdp);
    const attacker = { address: natted.address, port: 62000 };
    t.equal(strict.accept(natted, 0xbbbb, 1), 'latch-probation');
    t.equal(strict.accept(natted, 0xbbbb, 2), 'latch-probation');
    t.equal(strict.accept(natted, 0xbbbb, 4), 'latch-probation', 'seq gap: restart');
    t.equal(strict.accept(natted, 0xcccc, 5), 'latch-probation', 'SSRC change: restart');
    t.equal(strict.accept(attacker, 0xcccc, 6), 'latch-probation', 'another source: restart');
    t.equal(strict.accept(natted, 0xcccc, 6), 'latch-probation');
    t.equal(strict.latched, undefined);
    // Sequence numbers wrap inside probation.
    const wrap = new RtpLatch(sdp);
    t.same(
      [65534, 65535, 0, 1].map((seq) => wrap.accept(natted, 1, seq)),
      ['latch-probation', 'latch-probation', 'latch-probation', 'latched'],
    );
    // No SDP address at all: every source is on probation.
    const none = new RtpLatch();
    t.same(
      [1, 2, 3, 4].map((seq) => none.accept(sdp, 1, seq)),
      ['latch-probation', 'latch-probation', 'latch-probation', 'latched'],
    );
  },
);

t.test('latch: once latched, every other source is foreign, for good', async (t) => {
  const latch = new RtpLatch(sdp);
  latch.accept(sdp, 0xaaaa, 1);
  const bleeder = { address: '192.0.2.66', port: 5004 };
  const samePort = { address: sdp.address, port: sdp.port + 2 };
  // The RTP bleed attempt: a well-formed stream with the call's SSRC and sequence, for longer
  // than any probation, from another host and from another port of the peer's host.
  for (let seq = 2; seq < 200; seq++) {
    t.equal(latch.accept(bleeder, 0xaaaa, seq), 'foreign-source');
    t.equal(latch.accept(samePort, 0xaaaa, seq), 'foreign-source');
  }
  t.ok(latch.isForeign(bleeder) && latch.isForeign(samePort) && !latch.isForeign(sdp));
  t.same(latch.destination, sdp);
  t.equal(latch.accept(sdp, 0xaaaa, 200), 'same');
  t.equal(latch.latches, 1);
});

t.test('latch: the SDP address takes over a source learned by probation, once', async (t) => {
  const latch = new RtpLatch(sdp);
  const early = { address: '192.0.2.66', port: 5004 }; // won the start-of-call race
  for (let seq = 1; seq <= 4; seq++) latch.accept(early, 0x666, seq);
  t.same(latch.latched, early);
  t.notOk(latch.isForeign(sdp), 'the signalled peer is never foreign to a probation latch');
  t.equal(latch.accept(sdp, 0xaaaa, 77), 'latched');
  t.same(latch.destination, sdp);
  t.equal(latch.accept(early, 0x666, 5), 'foreign-source');
  t.equal(latch.latches, 2);
});

t.test('latch: a new SSRC from the latched source after 2 in-sequence packets', async (t) => {
  const latch = new RtpLatch(sdp);
  latch.accept(sdp, 0xaaaa, 10);
  t.equal(latch.accept(sdp, 0xbbbb, 900), 'ssrc-probation', 'one stray packet of another SSRC');
  t.equal(latch.accept(sdp, 0xaaaa, 11), 'same', 'the current stream goes on');
  t.equal(latch.accept(sdp, 0xbbbb, 901), 'ssrc-probation', 'the current SSRC in between restarts');
  t.equal(latch.accept(sdp, 0xbbbb, 903), 'ssrc-probation', 'out of sequence restarts');
  t.equal(latch.accept(sdp, 0xbbbb, 904), 'new-ssrc');
  t.equal(latch.ssrc, 0xbbbb);
  t.equal(latch.accept(sdp, 0xbbbb, 905), 'same');
  t.equal(latch.accept(sdp, 0xaaaa, 12), 'ssrc-probation', 'the old SSRC is now the stranger');
});

t.test('latch: re-INVITE rules and address spellings', async (t) => {
  const latch = new RtpLatch(sdp);
  for (let seq = 1; seq <= 4; seq++) latch.accept(natted, 1, seq);
  latch.setSignalled({ ...sdp }); // session refresh: same address
  t.same(latch.latched, natted, 'same SDP address: the latch stays');
  latch.setSignalled(undefined); // c=0.0.0.0 hold
  t.equal(latch.destination, undefined, 'hold: nothing sent');
  t.equal(latch.accept(natted, 1, 5), 'same', 'hold: the peer is still the peer');
  latch.setSignalled({ ...sdp }); // resume
  t.same(latch.destination, natted);
  const moved = { address: '203.0.113.9', port: 40002 };
  latch.setSignalled(moved);
  t.equal(latch.latched, undefined, 'a new SDP address: learn again');
  t.same(latch.destination, moved);
  t.equal(latch.accept(natted, 1, 6), 'latch-probation', 'the old source is only a candidate now');
  t.equal(latch.accept(moved, 2, 1), 'latched');

  t.equal(canonicalHost('::FFFF:192.0.2.1'), '192.0.2.1');
  t.equal(canonicalHost('2001:DB8:0:0::1'), '2001:db8::1');
  t.equal(canonicalHost('fe80::1%eth0'), 'fe80::1%eth0');
  const v6 = new RtpLatch({ address: '2001:DB8:0:0::1', port: 4000 });
  t.equal(v6.accept({ address: '2001:db8::1', port: 4000 }, 1, 1), 'latched', 'IPv6 spelled two ways');
  const mapped = new RtpLatch({ address: '192.0.2.1', port: 4000 });
  t.equal(mapped.accept({ address: '::ffff:192.0.2.1', port: 4000 }, 1, 1), 'latched', 'dual-stack socket');
});

t.test('latch: RTCP only from the peer host; the expected port always, another only first', async (t) => {
  const latch = new RtpLatch({ ...sdp, rtcpPort: 40009 });
  const rtcp = (from: { address: string; port: number }): boolean => {
    const ok = latch.isRtcpSource(from);
    if (ok) latch.latchRtcp(from); // as the session does once the datagram parsed
    return ok;
  };
  t.same(latch.rtcpDestination, { address: sdp.address, port: 40009 }, 'a=rtcp before any RTCP');
  t.notOk(rtcp({ address: '192.0.2.66', port: 40009 }), 'another host');
  t.ok(latch.isRtcpSource({ address: sdp.address, port: 50005 }), 'any port of the host, at first…');
  t.same(latch.rtcpDestination, { address: sdp.address, port: 40009 }, '…but only a parsed datagram latches');
  t.ok(rtcp({ address: sdp.address, port: 50001 }), 'a NATed RTCP port, first');
  t.same(latch.rtcpDestination, { address: sdp.address, port: 50001 }, 'symmetric RTCP');
  t.notOk(rtcp({ address: sdp.address, port: 50003 }), 'a second unexpected port');
  t.ok(rtcp({ address: sdp.address, port: 40009 }), 'the signalled port, always');
  t.same(latch.rtcpDestination, { address: sdp.address, port: 40009 });
  // Before RTP latches to a NATed host, that host's RTCP is foreign; after, it is the peer's.
  const nat = new RtpLatch(sdp);
  t.notOk(nat.isRtcpSource({ address: natted.address, port: natted.port + 1 }));
  for (let seq = 1; seq <= 4; seq++) nat.accept(natted, 1, seq);
  t.ok(nat.isRtcpSource({ address: natted.address, port: natted.port + 1 }));
});

// --- the session's input boundary over real UDP ---

const host = '127.0.0.1';
const pool = new PortPool({ address: host, portMin: 23700, portMax: 23749 });

function sendTo(socket: dgram.Socket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => socket.send(bytes, port, host, (e) => (e ? reject(e) : resolve())));
}

function until(cond: () => boolean, limitMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = (): void => {
      if (cond()) return resolve();
      if (Date.now() - start > limitMs) return reject(new Error('condition not met in time'));
      setTimeout(poll, 5);
    };
    poll();
  });
}

t.test('session: a throwing listener and every refused datagram are counted drops', async (t) => {
  const peer = await pool.allocate();
  const other = await pool.allocate();
  t.teardown(() => Promise.all([peer.close(), other.close()]));
  const s = new RtpSession({
    pair: await pool.allocate(),
    payloadType: 0,
    remote: { address: host, port: peer.rtpPort },
    rtcpIntervalMs: 60_000,
  });
  t.teardown(() => s.close());
  const delivered: InboundRtpPacket[] = [];
  s.on('audio', (p) => {
    if (p.seq === 2) throw new Error('listener bug on seq 2');
    delivered.push({ ...p }); // the session rewrites its packet record per datagram
  });
  const before = rejectedInputs.count('rtp');
  const packet = (seq: number, ssrc = 0x5eed) =>
    serializeRtp({ payloadType: 0, seq, ts: seq * 160, ssrc, marker: false, payload: Buffer.alloc(160) });
  await sendTo(peer.rtpSocket, packet(1), s.localPort);
  await sendTo(peer.rtpSocket, packet(2), s.localPort); // the listener throws
  await sendTo(
    peer.rtpSocket,
    rtp(160, (b) => (b[0] = 0x40)),
    s.localPort,
  ); // bad-version
  await sendTo(other.rtpSocket, packet(3), s.localPort); // foreign-source
  await sendTo(other.rtpSocket, Buffer.from('not even RTP'), s.localPort); // foreign-source, unparsed
  await sendTo(peer.rtpSocket, packet(900, 0x7777), s.localPort); // ssrc-probation
  await sendTo(peer.rtcpSocket, Buffer.from([0x80, 201, 0, 7, 0, 0, 0, 1]), s.localRtcpPort); // bad-rtcp
  const rr = buildRtcpReport({ ssrc: 0x5eed, cname: 'peer', nowMs: 0, reports: [] }).bytes;
  await sendTo(peer.rtcpSocket, rr, s.localRtcpPort); // accepted: latches the RTCP port
  await sendTo(other.rtcpSocket, rr, s.localRtcpPort); // rtcp-foreign-source
  await sendTo(peer.rtpSocket, packet(4), s.localPort);
  await until(() => delivered.some((p) => p.seq === 4) && s.stats.rtcpIn === 1);
  await until(() => rejectedInputs.count('rtp') - before === 7);
  t.same(
    delivered.map((p) => p.seq),
    [1, 4],
    'the session goes on after the listener threw',
  );
  const d = s.stats.dropped;
  t.same(
    [d['bad-version'], d['foreign-source'], d['ssrc-probation'], d['bad-rtcp'], d['rtcp-foreign-source']],
    [1, 2, 1, 1, 1],
  );
  t.equal(rejectedInputs.count('rtp') - before, 7, '6 refused datagrams + 1 exception, kind rtp');
});

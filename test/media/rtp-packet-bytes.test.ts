// RTP bytes both ways, checked against rtp.js now that the hot path reads and writes headers by
// hand (rtp-datagram.ts) into reused storage (rtp-send-buffers.ts, the session's packet record):
// what a session sends, over real UDP, parsed by rtp.js field by field and re-serialized by it
// byte for byte (sequence and timestamp wraparound, the marker on each talkspurt's first packet,
// a DTMF event); bursts of back-to-back ticks that would corrupt packets if a buffer in flight
// were reused; why that can happen (Node sends after the call returns); and the inbound reader
// against rtp.js's parse on seeded random datagrams. Ports 23800-23819.
import dgram from 'node:dgram';
import t, { type Test } from 'tap';
import { RtpPacket } from 'rtp.js/packets';
import { nodeBufferToDataView } from 'rtp.js/utils';
import { PortPool, type PortPair } from '../../src/media/port-pool.js';
import { checkRtpHeader, parseRtpDatagram, type RtpFields } from '../../src/media/rtp-datagram.js';
import { RtpSession, type RtpSessionOptions } from '../../src/media/rtp-session.js';

const host = '127.0.0.1';
const pool = new PortPool({ address: host, portMin: 23800, portMax: 23819 });

/** rtp.js's serialization of `fields`: what serializeRtp did before it wrote bytes by hand. */
function rtpJsBytes(fields: RtpFields): Buffer {
  const packet = new RtpPacket();
  packet.setPayloadType(fields.payloadType);
  packet.setSequenceNumber(fields.seq);
  packet.setTimestamp(fields.ts);
  packet.setSsrc(fields.ssrc);
  packet.setMarker(fields.marker);
  packet.setPayload(nodeBufferToDataView(fields.payload));
  const view = packet.getView();
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** rtp.js's reading of `datagram`. */
function rtpJsFields(datagram: Buffer): RtpFields {
  const packet = new RtpPacket(nodeBufferToDataView(datagram));
  const view = packet.getPayload();
  return {
    payloadType: packet.getPayloadType(),
    seq: packet.getSequenceNumber(),
    ts: packet.getTimestamp(),
    ssrc: packet.getSsrc(),
    marker: packet.getMarker(),
    payload: Buffer.from(view.buffer, view.byteOffset, view.byteLength),
  };
}

/** A raw socket pair standing in for the peer, keeping every datagram it receives. */
async function peer(
  t: Test,
): Promise<{ pair: PortPair; got: Buffer[]; received: (n: number) => Promise<void> }> {
  const pair = await pool.allocate();
  t.teardown(() => pair.close());
  const got: Buffer[] = [];
  pair.rtpSocket.on('message', (d) => got.push(d));
  const received = async (n: number): Promise<void> => {
    const until = Date.now() + 5000;
    while (got.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  };
  return { pair, got, received };
}

async function session(t: Test, to: PortPair, options: Partial<RtpSessionOptions> = {}): Promise<RtpSession> {
  const s = new RtpSession({
    pair: await pool.allocate(),
    payloadType: 0,
    telephoneEventPayloadType: 101,
    remote: { address: host, port: to.rtpPort },
    rtcpIntervalMs: 3_600_000,
    ...options,
  });
  t.teardown(() => s.close());
  return s;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('sent packets are what rtp.js reads and writes: wraparound, talkspurt markers, DTMF', async (t) => {
  const { pair, got, received } = await peer(t);
  const tsBase = 0xffffff00; // the third tick's timestamp wraps past 2^32
  const s = await session(t, pair, { origin: { ssrc: 0xdeadbeef, seq: 0xfffc, ts: tsBase } });
  // Ticks 0-3 audio, 4-5 silence, 6-8 audio, 9-13 a 60 ms DTMF '5' (2 updates + 3 ends), then audio.
  const audioAt = (tick: number) => (tick >= 4 && tick < 6 ? null : Buffer.alloc(160, 0x10 + tick));
  for (let tick = 0; tick < 18; tick++) {
    if (tick === 9) void s.sendDtmf('5', { durationMs: 60 });
    s.sendFrame(audioAt(tick), 1000 + tick * 20);
    await turn(); // every send completes before the next: one buffer does it all
  }
  await received(16);
  t.equal(got.length, 16, '18 ticks less 2 of silence');
  const expected: RtpFields[] = [];
  let seq = 0xfffc;
  for (let tick = 0; tick < 18; tick++) {
    const payload = audioAt(tick);
    if (payload === null) continue;
    seq = (seq + 1) & 0xffff;
    const isEvent = tick >= 9 && tick <= 13;
    expected.push({
      payloadType: isEvent ? 101 : 0,
      seq,
      ts: (tsBase + (isEvent ? 9 : tick) * 160) >>> 0, // RFC 4733 §2.5.1.1: the event's start
      ssrc: 0xdeadbeef,
      marker: tick === 0 || tick === 6 || tick === 9 || tick === 14,
      payload,
    });
  }
  got.forEach((bytes, i) => {
    const fields = rtpJsFields(bytes);
    const want = expected[i]!;
    const { payload, ...header } = fields;
    const { payload: wantPayload, ...wantHeader } = want;
    t.same(header, wantHeader, `packet ${i}: header`);
    if (want.payloadType === 0) t.same(payload, wantPayload, `packet ${i}: payload`);
    else t.equal(payload.length, 4, `packet ${i}: telephone-event payload`);
    t.same(bytes, rtpJsBytes(fields), `packet ${i}: rtp.js writes the same bytes`);
  });
  t.same(
    expected.map((f) => f.seq).slice(0, 4),
    [0xfffd, 0xfffe, 0xffff, 0],
    'the sequence wraps between packets 2 and 3',
  );
  t.same(rtpJsFields(got[2]!).ts, 0x40, 'the timestamp wraps on the third tick');
  t.equal(s.sendBuffers, 1, 'sends that complete before the next reuse one buffer');
});

t.test('bursts of back-to-back ticks: each packet keeps its own bytes', async (t) => {
  const { pair, got, received } = await peer(t);
  const s = await session(t, pair, { origin: { ssrc: 0x5eed, seq: 0xffe0, ts: 0 } });
  const bursts = 20;
  const perBurst = 5;
  for (let b = 0; b < bursts; b++) {
    // 5 ticks in one turn of the event loop, as a media clock catching up after a stall does:
    // none of these sends has completed when the next packet is written.
    for (let i = 0; i < perBurst; i++) {
      const n = b * perBurst + i;
      const payload = Buffer.alloc(160, n);
      payload.writeUInt16BE(n, 0);
      s.sendFrame(payload, n * 20);
    }
    await turn();
  }
  await received(bursts * perBurst);
  t.equal(got.length, bursts * perBurst);
  let corrupt = 0;
  got.forEach((bytes, n) => {
    const f = rtpJsFields(bytes);
    const payloadOk =
      f.payload.length === 160 && f.payload.readUInt16BE(0) === n && f.payload[159] === (n & 0xff);
    const headerOk = f.seq === ((0xffe0 + n + 1) & 0xffff) && f.ts === n * 160 && f.marker === (n === 0);
    if (!payloadOk || !headerOk) corrupt++;
  });
  t.equal(corrupt, 0, 'no packet carries another packet’s header or payload');
  t.equal(s.sendBuffers, perBurst, 'one buffer per packet in flight, reused burst after burst');
});

t.test('why buffers wait for the send callback: dgram reads the bytes after send() returns', async (t) => {
  const { pair, got, received } = await peer(t);
  const sender = dgram.createSocket('udp4');
  t.teardown(() => sender.close());
  const bytes = Buffer.alloc(4, 0x11);
  sender.send(bytes, pair.rtpPort, host);
  bytes.fill(0x22); // same turn: dns.lookup answers an IP literal on process.nextTick
  await received(1);
  t.same([...got[0]!], [0x22, 0x22, 0x22, 0x22], 'the datagram carries what the buffer held later');
});

/** Deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 0x100000000;
  };
}

t.test(
  'inbound: the hand-written reader agrees with checkRtpHeader + rtp.js on random datagrams',
  async (t) => {
    const accepted = new Set([0, 13, 101]);
    /** The reader this one replaced: our checks, then rtp.js's fields. */
    const before = (d: Buffer) => {
      const checked = checkRtpHeader(d, accepted, 1500);
      if (typeof checked === 'string') return checked;
      try {
        return rtpJsFields(d);
      } catch {
        return 'malformed';
      }
    };
    const random = prng(16);
    const byte = () => Math.floor(random() * 256);
    const outcomes = new Map<string, number>();
    let disagreements = 0;
    for (let n = 0; n < 20_000; n++) {
      const length = 12 + Math.floor(random() * 60);
      const d = Buffer.from(Array.from({ length }, byte));
      // Mostly version 2 and negotiated payload types, so the deeper checks are reached; flags,
      // CSRC count, extension (often RFC 8285's 0xBEDE, whose elements rtp.js walks) and padding random.
      if (random() < 0.9) d[0] = 0x80 | (d[0]! & 0x3f & (random() < 0.7 ? 0x30 : 0x3f));
      if (random() < 0.9) d[1] = (d[1]! & 0x80) | [0, 13, 101][Math.floor(random() * 3)]!;
      if ((d[0]! & 0x10) !== 0 && random() < 0.5) {
        const at = 12 + (d[0]! & 0x0f) * 4;
        if (at + 4 <= length) {
          d.writeUInt16BE(random() < 0.5 ? 0xbede : 0x1000, at);
          d.writeUInt16BE(Math.floor(random() * 4), at + 2);
        }
      }
      const want = before(d);
      const got = parseRtpDatagram(d, 0, accepted, 1500);
      const outcome = typeof want === 'string' ? want : 'accepted';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const same =
        typeof want === 'string'
          ? got === want
          : typeof got !== 'string' &&
            got.payloadType === want.payloadType &&
            got.seq === want.seq &&
            got.ts === want.ts &&
            got.ssrc === want.ssrc &&
            got.marker === want.marker &&
            got.payload.equals(want.payload) &&
            got.payload.buffer === d.buffer; // a view into the datagram, not a copy
      if (!same && disagreements++ < 5) t.fail(`datagram ${n} ${d.toString('hex')}: ${JSON.stringify(got)}`);
    }
    t.equal(disagreements, 0, 'no disagreement in 20,000');
    for (const reason of ['accepted', 'malformed', 'extension-overrun', 'bad-padding', 'csrc-overrun']) {
      t.ok((outcomes.get(reason) ?? 0) > 50, `${reason}: ${outcomes.get(reason) ?? 0} cases`);
    }
  },
);

// RFC 4733 telephone-events: payload layout, digit mapping, the receiver (one digit per press)
// on SIPp's own DTMF captures (/usr/share/sip-tester/dtmf_2833_*.pcap, sip-tester package) and
// on loss/reorder/duplicate patterns, and the sender's packet sequence.
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  DtmfReceiver,
  digitToEvent,
  dtmfEventPackets,
  eventToDigit,
  parseTelephoneEvent,
  serializeTelephoneEvent,
} from '../../src/media/dtmf-event.js';
import { parseRtpDatagram, type InboundRtpPacket } from '../../src/media/rtp-datagram.js';

const sippDir = '/usr/share/sip-tester';

/** UDP payloads of a classic pcap file (Ethernet / Linux SLL / raw IPv4 link types). */
function pcapUdpPayloads(path: string): Buffer[] {
  const file = readFileSync(path);
  const magic = file.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && file.readUInt32BE(0) !== 0xa1b2c3d4 && file.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a pcap file`);
  }
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20);
  const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 101 ? 0 : -1;
  if (linkHeader < 0) throw new Error(`${path}: link type ${linkType}`);
  const out: Buffer[] = [];
  for (let off = 24; off + 16 <= file.length;) {
    const inclLen = u32(off + 8);
    const frame = file.subarray(off + 16, off + 16 + inclLen);
    off += 16 + inclLen;
    const ip = frame.subarray(linkHeader);
    if (ip[0]! >> 4 !== 4 || ip[9] !== 17) continue; // IPv4 + UDP only
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    out.push(udp.subarray(8, udp.readUInt16BE(4)));
  }
  return out;
}

function sippDtmfPackets(name: string): InboundRtpPacket[] {
  return pcapUdpPayloads(`${sippDir}/dtmf_2833_${name}.pcap`).map((d, i) => {
    const p = parseRtpDatagram(d, i * 20, new Set([101]), 1500);
    if (typeof p === 'string') throw new Error(`${name} packet ${i}: ${p}`);
    return p;
  });
}

const sippFiles: [string, string][] = [
  ...Array.from({ length: 10 }, (_, i): [string, string] => [String(i), String(i)]),
  ['star', '*'],
  ['pound', '#'],
];

t.test("SIPp's telephone-event captures: layout and one digit per press", async (t) => {
  for (const [name, digit] of sippFiles) {
    const packets = sippDtmfPackets(name);
    t.equal(packets.length, 10, `${name}: 7 updates + 3 end packets`);
    const events = packets.map((p) => parseTelephoneEvent(p.payload));
    t.equal(eventToDigit(events[0]!.event), digit, `${name}: event code`);
    t.ok(packets[0]!.marker, `${name}: marker on the first packet`);
    t.notOk(
      packets.slice(1).some((p) => p.marker),
      `${name}: marker only once`,
    );
    t.equal(new Set(packets.map((p) => p.ts)).size, 1, `${name}: one timestamp for the whole event`);
    t.same(
      events.map((e) => e.end),
      [false, false, false, false, false, false, false, true, true, true],
    );
    t.same(
      events.map((e) => e.durationTs),
      [0, 320, 640, 960, 1280, 1600, 1920, 2240, 2240, 2240],
      `${name}: durations in 8 kHz units`,
    );
    t.ok(
      events.every((e) => e.volume === 10),
      `${name}: volume 10 -dBm0`,
    );
    const rx = new DtmfReceiver();
    const digits = packets.map((p) => rx.receive(p)).filter((d) => d !== undefined);
    t.same(
      digits.map((d) => d.digit),
      [digit],
      `${name}: reported once`,
    );
    t.equal(digits[0]!.ts, packets[0]!.ts);
  }
});

t.test('payload round trip for every digit, flags and bounds', async (t) => {
  for (let event = 0; event < 16; event++) {
    const digit = eventToDigit(event)!;
    t.equal(digitToEvent(digit), event);
    const ev = { event, end: event % 2 === 0, volume: event * 4, durationTs: event * 1000 + 7 };
    const bytes = serializeTelephoneEvent(ev);
    t.equal(bytes.length, 4);
    t.same(parseTelephoneEvent(bytes), ev);
  }
  t.same(
    [...serializeTelephoneEvent({ event: 11, end: true, volume: 10, durationTs: 0x08c0 })],
    [0x0b, 0x8a, 0x08, 0xc0],
  );
  t.equal(digitToEvent('a'), 12, 'lower-case A..D accepted');
  t.equal(eventToDigit(16), undefined, 'flash (16) is no digit');
  t.throws(() => digitToEvent('E'), RangeError);
  t.throws(() => digitToEvent('12'), /not a DTMF digit/);
  t.throws(() => parseTelephoneEvent(Buffer.from([1, 2, 3])), RangeError);
  t.throws(() => serializeTelephoneEvent({ event: 1, end: false, volume: 64, durationTs: 0 }), RangeError);
  t.throws(
    () => serializeTelephoneEvent({ event: 1, end: false, volume: 0, durationTs: 0x10000 }),
    RangeError,
  );
  t.throws(() => serializeTelephoneEvent({ event: 256, end: false, volume: 0, durationTs: 0 }), RangeError);
});

function te(ts: number, event: number, end: boolean, durationTs: number, marker = false) {
  return { ts, marker, payload: serializeTelephoneEvent({ event, end, volume: 10, durationTs }) };
}

t.test('receiver: losses, duplicates, reordering, repeated presses, long events', async (t) => {
  const rx = new DtmfReceiver();
  // Start and updates lost: the first end packet still reports the press, its copies do not.
  t.equal(rx.receive(te(1000, 5, true, 800))?.digit, '5');
  t.equal(rx.receive(te(1000, 5, true, 800)), undefined);
  t.equal(rx.receive(te(1000, 5, true, 800)), undefined);
  // The same key again is a new event with a new timestamp.
  t.equal(rx.receive(te(3000, 5, false, 160, true))?.digit, '5');
  t.equal(rx.receive(te(3000, 5, false, 320)), undefined);
  // A late update of the first press arrives after the second press started: ignored.
  t.equal(rx.receive(te(1000, 5, false, 640)), undefined);
  t.equal(rx.receive(te(3000, 5, true, 480)), undefined);
  // New digit whose marker packet was lost, right after the previous one ended.
  t.equal(rx.receive(te(5000, 9, false, 320))?.digit, '9');
  // RFC 4733 §2.5.1.3 long event: a new segment at ts + 0xFFFF without marker is the same press.
  const rx2 = new DtmfReceiver();
  t.equal(rx2.receive(te(10, 0, false, 160, true))?.digit, '0');
  t.equal(rx2.receive(te(10, 0, false, 0xffff)), undefined);
  t.equal(rx2.receive(te(10 + 0xffff, 0, false, 160)), undefined, 'continuation segment');
  t.equal(rx2.receive(te(10 + 0xffff, 0, true, 4000)), undefined);
  // Timestamps wrap at 2^32.
  t.equal(rx2.receive(te(0xffffff00, 1, false, 160, true))?.digit, '1');
  t.equal(rx2.receive(te(0x00000100, 2, false, 160, true))?.digit, '2');
  // Event 16 (flash) and other non-DTMF events are counted, not reported.
  t.equal(rx2.receive(te(0x00001000, 16, true, 800, true)), undefined);
  t.equal(rx2.ignoredNonDigit, 1);
  t.throws(() => rx2.receive({ ts: 1, marker: false, payload: Buffer.alloc(2) }), RangeError);
});

t.test('sender: start with marker, 20 ms updates, three end packets', async (t) => {
  const packets = dtmfEventPackets('#', { durationMs: 100 });
  t.equal(packets.length, 7, '4 updates + 3 end packets for 100 ms');
  t.same(
    packets.map((p) => p.marker),
    [true, false, false, false, false, false, false],
  );
  const events = packets.map((p) => parseTelephoneEvent(p.payload));
  t.same(
    events.map((e) => e.durationTs),
    [160, 320, 480, 640, 800, 800, 800],
  );
  t.same(
    events.map((e) => e.end),
    [false, false, false, false, true, true, true],
  );
  t.ok(events.every((e) => e.event === 11 && e.volume === 10));
  const rx = new DtmfReceiver();
  const got = packets.map((p) => rx.receive({ ts: 4242, marker: p.marker, payload: p.payload }));
  t.same(
    got.filter((d) => d !== undefined).map((d) => d.digit),
    ['#'],
  );
  t.equal(dtmfEventPackets('1', { durationMs: 40 }).length, 4, 'shortest: one update + 3 ends');
  t.equal(dtmfEventPackets('1', { durationMs: 250, ptimeMs: 30 }).length, 8 + 3, '240..1920 then 2000');
  t.throws(() => dtmfEventPackets('x'), RangeError);
  t.throws(() => dtmfEventPackets('1', { durationMs: 20 }), /DTMF duration 20 ms/);
  t.throws(() => dtmfEventPackets('1', { ptimeMs: 5 }), RangeError);
});

// Peer SDP fixtures (SIPp, Asterisk, baresip, Twilio-like, IPv6, hold, garbage) → RemoteMedia.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseSdp, SdpError } from '../../src/signaling/sdp/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}.sdp`, import.meta.url), 'utf8');

t.test('SIPp default uac offer: PCMU only, CRLF', async (t) => {
  const r = parseSdp(fixture('sipp-uac'));
  t.equal(r.address, '127.0.0.1');
  t.equal(r.addressFamily, 'IP4');
  t.equal(r.port, 6000);
  t.equal(r.protocol, 'RTP/AVP');
  t.same(r.codecs, [{ payloadType: 0, name: 'PCMU', clockRate: 8000 }]);
  t.equal(r.telephoneEvent, undefined);
  t.equal(r.direction, 'sendrecv');
  t.equal(r.onHold, false);
  t.equal(r.sessionId, '53655765');
  t.equal(r.sessionVersion, '2353687637');
});

t.test('Asterisk offer: codecs in offer order, telephone-event fmtp, ptime and maxptime', async (t) => {
  const r = parseSdp(fixture('asterisk'));
  t.same(
    r.codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate}`),
    ['9 G722/8000', '0 PCMU/8000', '8 PCMA/8000', '3 GSM/8000', '101 telephone-event/8000'],
  );
  t.same(r.telephoneEvent, { payloadType: 101, name: 'telephone-event', clockRate: 8000, fmtp: '0-16' });
  t.equal(r.ptimeMs, 20);
  t.equal(r.maxptimeMs, 150);
});

t.test(
  'baresip offer: LF line ends, dynamic telephone-event PT 96, unknown attributes ignored',
  async (t) => {
    const r = parseSdp(fixture('baresip'));
    t.same(
      r.codecs.map((c) => c.payloadType),
      [8, 0, 96],
    );
    t.equal(r.telephoneEvent?.payloadType, 96);
    t.equal(r.telephoneEvent?.fmtp, '0-15');
  },
);

t.test('Twilio-like offer: static PT 0 without rtpmap', async (t) => {
  const r = parseSdp(fixture('twilio'));
  t.same(r.codecs[0], { payloadType: 0, name: 'PCMU', clockRate: 8000 });
  t.equal(r.address, '54.172.60.3', 'c= address, not the o= address');
  t.equal(r.port, 16022);
  t.equal(r.sessionId, '2094730461');
});

t.test(
  'IPv6: media-level c= wins, 8 kHz telephone-event preferred, 64-bit session id kept exact',
  async (t) => {
    const r = parseSdp(fixture('ipv6'));
    t.equal(r.address, '2001:db8::20');
    t.equal(r.addressFamily, 'IP6');
    t.equal(r.telephoneEvent?.payloadType, 100);
    t.equal(r.ptimeMs, 30);
    t.equal(r.sessionId, '8466031208932917342');
  },
);

t.test('hold: a=sendonly and c=0.0.0.0', async (t) => {
  const sendonly = parseSdp(fixture('hold-sendonly'));
  t.equal(sendonly.direction, 'sendonly');
  t.equal(sendonly.onHold, true);
  t.equal(sendonly.sessionVersion, '1697000001');
  const zero = parseSdp(fixture('hold-zero-address'));
  t.equal(zero.address, '0.0.0.0');
  t.equal(zero.direction, 'sendrecv');
  t.equal(zero.onHold, true);
  t.same(zero.codecs, [{ payloadType: 8, name: 'PCMA', clockRate: 8000 }]);
});

t.test('session-level direction applies when the m= section has none', async (t) => {
  const r = parseSdp(fixture('session-recvonly'));
  t.equal(r.direction, 'recvonly');
  t.equal(r.onHold, false);
});

t.test('audio after video: the audio m= line and its index', async (t) => {
  const r = parseSdp(fixture('video-then-audio'));
  t.equal(r.port, 20002);
  t.equal(r.mLineIndex, 1);
  t.same(r.mLines, [
    { media: 'video', protocol: 'RTP/AVP', formats: '96' },
    { media: 'audio', protocol: 'RTP/AVP', formats: '0' },
  ]);
});

t.test('port 0 is a rejected stream, not an error', async (t) => {
  t.equal(parseSdp(fixture('rejected')).port, 0);
});

t.test('clear SdpError messages', async (t) => {
  const cases: [string, string | RegExp][] = [
    [fixture('garbage'), 'not an SDP body: the first line must be v=0'],
    ['', 'not an SDP body: the first line must be v=0'],
    [fixture('no-audio'), 'no audio m= line in SDP'],
    [fixture('missing-connection'), 'no c= line for the audio stream (RFC 4566 5.7)'],
    [fixture('bad-port'), 'm= line port 70000 is not 0–65535'],
    ['v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n', 'malformed m= line "m=audio x RTP/AVP 0"'],
    ['v=0\r\nhello\r\n', 'malformed SDP line "hello"'],
    [
      'v=0\r\nc=IN IP4 example.com\r\nm=audio 4000 RTP/AVP 0\r\n',
      'c= address "example.com" is not an IP address',
    ],
    [
      'v=0\r\nc=IN IP4 ::1\r\nm=audio 4000 RTP/AVP 0\r\n',
      'c= address ::1 does not match its address type IP4',
    ],
    ['v=0\r\n' + 'a=x\r\n'.repeat(20000), /^SDP is \d+ bytes, limit 65536$/],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseSdp(text), { name: 'SdpError', message }, JSON.stringify(text.slice(0, 40)));
  }
  t.throws(() => parseSdp(42 as unknown as string), new SdpError('SDP must be a string, got number'));
});

t.test('multicast TTL suffix on c= is stripped', async (t) => {
  const r = parseSdp('v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 4000 RTP/AVP 0\r\n');
  t.equal(r.address, '224.2.1.1');
});

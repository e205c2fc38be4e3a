// RFC 3264 offer/answer: codec choice, ptime, direction and hold, answers and our own offers.
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  buildAnswer,
  buildOffer,
  negotiate,
  parseAnswer,
  parseSdp,
  type CallCodec,
} from '../../src/signaling/sdp/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}.sdp`, import.meta.url), 'utf8');
const both: CallCodec[] = ['PCMU', 'PCMA'];

t.test('the offerer order among our codecs wins (RFC 3264 6.1)', async (t) => {
  const asterisk = negotiate(parseSdp(fixture('asterisk')), { codecs: ['PCMA', 'PCMU'] });
  t.equal(asterisk?.codec, 'PCMU', 'Asterisk lists G722, PCMU, PCMA: PCMU is its first that we have');
  t.equal(asterisk?.payloadType, 0);
  const baresip = negotiate(parseSdp(fixture('baresip')), { codecs: both });
  t.equal(baresip?.codec, 'PCMA');
  t.equal(baresip?.telephoneEventPt, 96);
  t.equal(
    negotiate(parseSdp(fixture('asterisk')), { codecs: ['PCMA'] })?.codec,
    'PCMA',
    'only what we allow',
  );
});

t.test('full negotiated value for the Asterisk offer', async (t) => {
  t.same(negotiate(parseSdp(fixture('asterisk')), { codecs: both }), {
    codec: 'PCMU',
    payloadType: 0,
    clockRate: 8000,
    telephoneEventPt: 101,
    ptimeMs: 20,
    remoteAddress: '192.168.1.10',
    remotePort: 10000,
    direction: 'sendrecv',
    onHold: false,
    mLineIndex: 0,
    offeredMLines: [{ media: 'audio', protocol: 'RTP/AVP', formats: '9 0 8 3 101' }],
  });
});

t.test('null (→ 488) when nothing fits', async (t) => {
  t.equal(negotiate(parseSdp(fixture('no-common-codec')), { codecs: both }), null, 'G729/G722 only');
  t.equal(negotiate(parseSdp(fixture('srtp')), { codecs: both }), null, 'RTP/SAVP');
  t.equal(negotiate(parseSdp(fixture('rejected')), { codecs: both }), null, 'port 0');
  t.equal(negotiate(parseSdp(fixture('sipp-uac')), { codecs: ['PCMA'] }), null, 'PCMU offered, PCMA allowed');
  const stereo = parseSdp(
    'v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU/8000/2\r\n',
  );
  t.equal(negotiate(stereo, { codecs: both }), null, 'two-channel PCMU');
  const wideband = parseSdp(
    'v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMA/16000\r\n',
  );
  t.equal(negotiate(wideband, { codecs: both }), null, 'PCMA at 16 kHz');
});

t.test('ptime: the remote ptime when 10–60, else ours, capped by maxptime', async (t) => {
  t.equal(negotiate(parseSdp(fixture('ipv6')), { codecs: both })?.ptimeMs, 30);
  t.equal(negotiate(parseSdp(fixture('sipp-uac')), { codecs: both })?.ptimeMs, 20);
  t.equal(negotiate(parseSdp(fixture('sipp-uac')), { codecs: both, ptimeMs: 40 })?.ptimeMs, 40);
  t.equal(
    negotiate(parseSdp(fixture('session-recvonly')), { codecs: both })?.ptimeMs,
    10,
    'ptime 5, maxptime 10',
  );
  const big = parseSdp('v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:90\r\n');
  t.equal(negotiate(big, { codecs: both })?.ptimeMs, 20);
});

t.test('directions and hold', async (t) => {
  const hold = negotiate(parseSdp(fixture('hold-sendonly')), { codecs: both });
  t.equal(hold?.direction, 'recvonly');
  t.equal(hold?.onHold, true);
  const zero = negotiate(parseSdp(fixture('hold-zero-address')), { codecs: both });
  t.equal(zero?.direction, 'recvonly', 'c=0.0.0.0 means the offerer will not receive (RFC 3264 8.4)');
  t.equal(zero?.onHold, true);
  t.equal(negotiate(parseSdp(fixture('session-recvonly')), { codecs: both })?.direction, 'sendonly');
  const inactive = parseSdp('v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n');
  t.equal(negotiate(inactive, { codecs: both })?.direction, 'inactive');
});

t.test('buildAnswer: exact text for the Asterisk offer', async (t) => {
  const n = negotiate(parseSdp(fixture('asterisk')), { codecs: both })!;
  t.equal(
    buildAnswer(n, { address: '10.0.0.2', port: 40002, sessionId: '12345', sessionVersion: 1 }),
    [
      'v=0',
      'o=grok-sip 12345 1 IN IP4 10.0.0.2',
      's=grok-sip',
      'c=IN IP4 10.0.0.2',
      't=0 0',
      'm=audio 40002 RTP/AVP 0 101',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n'),
  );
});

t.test(
  'buildAnswer: no telephone-event unless offered; IPv6; other m= lines rejected in place',
  async (t) => {
    const sipp = buildAnswer(negotiate(parseSdp(fixture('sipp-uac')), { codecs: both })!, {
      address: '::1',
      port: 40000,
      sessionId: '1',
    });
    t.match(sipp, /^c=IN IP6 ::1\r$/m);
    t.match(sipp, /^o=grok-sip 1 1 IN IP6 ::1\r$/m);
    t.match(sipp, /^m=audio 40000 RTP\/AVP 0\r$/m);
    t.notMatch(sipp, /telephone-event/);

    const mixed = buildAnswer(negotiate(parseSdp(fixture('video-then-audio')), { codecs: both })!, {
      address: '10.0.0.2',
      port: 40004,
    });
    const mLines = mixed.split('\r\n').filter((l) => l.startsWith('m='));
    t.same(mLines, ['m=video 0 RTP/AVP 96', 'm=audio 40004 RTP/AVP 0']);
    t.match(mixed, /^o=grok-sip \d+ 1 IN IP4 10\.0\.0\.2\r$/m, 'random session id when none is given');

    const hold = buildAnswer(negotiate(parseSdp(fixture('hold-sendonly')), { codecs: both })!, {
      address: '10.0.0.2',
      port: 40006,
    });
    t.match(hold, /^a=recvonly\r$/m);
  },
);

t.test('buildAnswer/buildOffer reject bad local values', async (t) => {
  const n = negotiate(parseSdp(fixture('sipp-uac')), { codecs: both })!;
  t.throws(() => buildAnswer(n, { address: 'localhost', port: 4000 }), {
    name: 'RangeError',
    message: 'local media address "localhost" is not an IP address',
  });
  t.throws(
    () => buildAnswer(n, { address: '1.2.3.4', port: 0 }),
    new RangeError('local RTP port 0 is not 1–65535'),
  );
  t.throws(() => buildOffer({ address: '1.2.3.4', port: 4000, codecs: [] }), {
    name: 'SdpError',
    message: 'an offer needs at least one codec',
  });
  t.throws(
    () => buildOffer({ address: '1.2.3.4', port: 4000, codecs: both, telephoneEventPt: 8 }),
    new RangeError('telephoneEventPt 8 is not a dynamic payload type 96–127'),
  );
});

t.test('buildOffer: exact text, defaults PT 101 and 20 ms', async (t) => {
  t.equal(
    buildOffer({
      address: '127.0.0.1',
      port: 40010,
      codecs: ['PCMA', 'PCMU'],
      sessionId: '9',
      sessionVersion: 3,
    }),
    [
      'v=0',
      'o=grok-sip 9 3 IN IP4 127.0.0.1',
      's=grok-sip',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=audio 40010 RTP/AVP 8 0 101',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n'),
  );
});

t.test('round trip: our offer → peer negotiates and answers → parseAnswer', async (t) => {
  const offer = buildOffer({
    address: '127.0.0.1',
    port: 40020,
    codecs: both,
    telephoneEventPt: 120,
    ptimeMs: 30,
  });
  const peer = negotiate(parseSdp(offer), { codecs: ['PCMA'] });
  t.equal(peer?.codec, 'PCMA');
  t.equal(peer?.telephoneEventPt, 120);
  t.equal(peer?.ptimeMs, 30);
  const answer = buildAnswer(peer!, { address: '127.0.0.2', port: 40030 });
  t.same(parseAnswer(answer, { codecs: both }), {
    codec: 'PCMA',
    payloadType: 8,
    clockRate: 8000,
    telephoneEventPt: 120,
    ptimeMs: 30,
    remoteAddress: '127.0.0.2',
    remotePort: 40030,
    direction: 'sendrecv',
    onHold: false,
  });
});

t.test('parseAnswer rejects answers we cannot use', async (t) => {
  t.throws(() => parseAnswer(fixture('rejected'), { codecs: both }), {
    name: 'SdpError',
    message: 'the answer rejected the audio stream (port 0)',
  });
  t.throws(() => parseAnswer(fixture('no-common-codec'), { codecs: both }), {
    name: 'SdpError',
    message: 'the answer has none of our codecs (PCMU, PCMA); it has G729, G722',
  });
  t.throws(() => parseAnswer(fixture('garbage'), { codecs: both }), { name: 'SdpError' });
});

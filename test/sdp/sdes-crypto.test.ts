// SDES (RFC 4568) in offer/answer: a=crypto lines parsed and written, RTP/SAVP answered with our
// own fresh key under media.srtp off | optional | required, and our own RTP/SAVP offers.
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  buildAnswer,
  buildOffer,
  freshCrypto,
  negotiate,
  parseAnswer,
  parseCryptoAttribute,
  parseSdp,
  type CallCodec,
} from '../../src/signaling/sdp/index.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}.sdp`, import.meta.url), 'utf8');
const both: CallCodec[] = ['PCMU', 'PCMA'];
const local = { address: '192.0.2.1', port: 40000, sessionId: '1' };
const rfcKey = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';

t.test('a=crypto: inline key, lifetime, MKI; unusable lines are skipped', async (t) => {
  const c = parseCryptoAttribute(`1 AES_CM_128_HMAC_SHA1_80 inline:${rfcKey}|2^20|1:32`);
  t.equal(c?.tag, 1);
  t.equal(c?.suite, 'AES_CM_128_HMAC_SHA1_80');
  t.equal(c?.keySalt.length, 30);
  t.equal(Buffer.from(c!.keySalt).toString('base64'), rfcKey);
  t.equal(c?.lifetime, 2 ** 20);
  t.equal(Buffer.from(c!.mki!).toString('hex'), '00'.repeat(31) + '01', 'MKI 1 in 32 bytes');
  t.equal(
    parseCryptoAttribute(`7 AES_CM_128_HMAC_SHA1_32 inline:${rfcKey}|1048576 WSH=128`)?.lifetime,
    1048576,
  );
  for (const bad of [
    `1 AES_256_CM_HMAC_SHA1_80 inline:${rfcKey}`, // a suite we do not implement
    `1 AES_CM_128_HMAC_SHA1_80 inline:${rfcKey} UNENCRYPTED_SRTP`, // a session parameter we do not
    `1 AES_CM_128_HMAC_SHA1_80 inline:${rfcKey} KDR=10`,
    '1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVm', // 12 bytes, not 30
    `1 AES_CM_128_HMAC_SHA1_80 inline:${rfcKey};inline:${rfcKey}`, // two keys
    `1 AES_CM_128_HMAC_SHA1_80 inline:${rfcKey}|2^49`, // beyond RFC 3711's 2^48
    `1 AES_CM_128_HMAC_SHA1_80 inline:${rfcKey}|256:1`, // MKI value does not fit its length
    `1 AES_CM_128_HMAC_SHA1_80 srtp:${rfcKey}`,
    'x AES_CM_128_HMAC_SHA1_80',
  ]) {
    t.equal(parseCryptoAttribute(bad), undefined, bad);
  }
  const offered = parseSdp(fixture('srtp-suites'));
  t.same(
    offered.crypto.map((x) => [x.tag, x.suite]),
    [
      [2, 'AES_CM_128_HMAC_SHA1_32'],
      [3, 'AES_CM_128_HMAC_SHA1_80'],
    ],
    'the AES-256 line is skipped, order kept',
  );
});

t.test('media.srtp optional: RTP/SAVP answered RTP/SAVP with our own key of the chosen suite', async (t) => {
  const remote = parseSdp(fixture('srtp-suites'));
  const n = negotiate(remote, { codecs: both, srtp: 'optional' });
  t.ok(n?.srtp, 'SRTP agreed');
  t.equal(n!.srtp!.remote.tag, 2, "the offerer's first usable line");
  t.equal(n!.srtp!.local.suite, 'AES_CM_128_HMAC_SHA1_32');
  t.equal(n!.srtp!.local.tag, 2, 'the answer echoes its tag');
  t.not(
    Buffer.from(n!.srtp!.local.keySalt).toString('hex'),
    Buffer.from(n!.srtp!.remote.keySalt).toString('hex'),
    'a key of our own',
  );
  const answer = buildAnswer(n!, local);
  t.match(answer, /m=audio 40000 RTP\/SAVP 8 101\r\n/);
  const line = /a=crypto:(.*)\r\n/.exec(answer)?.[1];
  t.equal(answer.match(/a=crypto:/g)?.length, 1, 'one a=crypto line');
  const ours = parseCryptoAttribute(line!);
  t.equal(ours?.tag, 2);
  t.equal(ours?.suite, 'AES_CM_128_HMAC_SHA1_32');
  t.same(Buffer.from(ours!.keySalt), Buffer.from(n!.srtp!.local.keySalt), 'our key as sent');
  t.equal(ours?.lifetime, undefined);
  const again = negotiate(remote, { codecs: both, srtp: 'optional' });
  t.not(
    Buffer.from(again!.srtp!.local.keySalt).toString('hex'),
    Buffer.from(n!.srtp!.local.keySalt).toString('hex'),
    'fresh per call',
  );
  const reinvite = negotiate(remote, { codecs: both, srtp: 'optional', localCrypto: n!.srtp!.local });
  t.same(
    Buffer.from(reinvite!.srtp!.local.keySalt),
    Buffer.from(n!.srtp!.local.keySalt),
    'kept on re-INVITE',
  );
  const ours80 = freshCrypto(5, 'AES_CM_128_HMAC_SHA1_80');
  const on80 = negotiate(remote, { codecs: both, srtp: 'required', localCrypto: ours80 });
  t.equal(on80?.srtp?.remote.tag, 3, "a re-INVITE takes the offer's line of our suite");
  t.equal(on80?.srtp?.local.suite, 'AES_CM_128_HMAC_SHA1_80');
  const only32 = parseSdp(fixture('srtp-suites').replace(/a=crypto:3 [^\r]*\r\n/, ''));
  t.equal(
    negotiate(only32, { codecs: both, srtp: 'required', localCrypto: ours80 }),
    null,
    'a re-INVITE without our suite is refused (488): we keep sending under our key',
  );
});

t.test('media.srtp required: plain RTP/AVP is refused (488); optional answers it plainly', async (t) => {
  const plain = parseSdp(fixture('asterisk'));
  t.equal(negotiate(plain, { codecs: both, srtp: 'required' }), null);
  const n = negotiate(plain, { codecs: both, srtp: 'optional' });
  t.equal(n?.srtp, undefined);
  t.match(buildAnswer(n!, local), /RTP\/AVP/);
  t.notMatch(buildAnswer(n!, local), /a=crypto/);
  t.ok(negotiate(parseSdp(fixture('srtp')), { codecs: both, srtp: 'required' })?.srtp);
});

t.test('media.srtp off, or no usable a=crypto line: RTP/SAVP is refused (488)', async (t) => {
  t.equal(negotiate(parseSdp(fixture('srtp')), { codecs: both, srtp: 'off' }), null);
  t.equal(negotiate(parseSdp(fixture('srtp-unusable')), { codecs: both, srtp: 'required' }), null);
  const savpf = fixture('srtp').replace('RTP/SAVP', 'RTP/SAVPF');
  t.equal(negotiate(parseSdp(savpf), { codecs: both, srtp: 'optional' }), null, 'RTP/SAVPF');
});

t.test('our RTP/SAVP offer and the answer to it', async (t) => {
  const crypto = [freshCrypto(1, 'AES_CM_128_HMAC_SHA1_80'), freshCrypto(2, 'AES_CM_128_HMAC_SHA1_32')];
  const offer = buildOffer({ ...local, codecs: ['PCMU'], crypto });
  t.match(offer, /m=audio 40000 RTP\/SAVP 0 101/);
  t.equal(offer.match(/a=crypto:/g)?.length, 2);
  const answer = buildAnswer(negotiate(parseSdp(offer), { codecs: ['PCMU'], srtp: 'required' })!, {
    address: '192.0.2.2',
    port: 50000,
  });
  const n = parseAnswer(answer, { codecs: ['PCMU'], crypto });
  t.equal(n.srtp?.local, crypto[0], 'the first line we offered, which the answerer chose');
  t.equal(n.srtp?.remote.suite, 'AES_CM_128_HMAC_SHA1_80');
  t.throws(
    () => parseAnswer(fixture('asterisk'), { codecs: ['PCMU'], crypto }),
    /RTP\/AVP to our RTP\/SAVP offer/,
  );
  t.throws(() => parseAnswer(answer, { codecs: ['PCMU'] }), /RTP\/SAVP to our RTP\/AVP offer/);
});

// SRTP against RFC 3711 Appendix B (B.2 AES-CM keystream, B.3 key derivation) and the receive
// rules of §3.3: rollover counter across a sequence wrap, the 64-packet replay window, tampered
// packets, SRTCP's E flag and index, MKI, key lifetime. Every refusal leaves the packet unchanged.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { native } from '../../src/media/native-addon.js';
import { SrtpContext, srtpRefusalOf, type SrtpSuite } from '../../src/media/srtp-context.js';
import { srtpInboundRefusals } from '../../src/media/srtp-suites.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const upper = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

t.test('RFC 3711 B.2: AES-CM keystream, first and last blocks of the 65282-block segment', async (t) => {
  const ks = native.srtpKeystream(
    hex('2B7E151628AED2A6ABF7158809CF4F3C'),
    hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000'),
    1044512,
  );
  t.equal(
    upper(ks.subarray(0, 48)),
    'E03EAD0935C95E80E166B16DD92B4EB4' +
      'D23513162B02D0F72A43A2FE4A5F97AB' +
      '41E95B3BB0A2E8DD477901E4FCA894C0',
  );
  t.equal(
    upper(ks.subarray(ks.length - 48)),
    'EC8CDF7398607CB0F2D21675EA9EA1E4' +
      '362B7C3C6773516318A077D7FC5073AE' +
      '6A2CC3787889374FBEB4C81B17BA6C44',
  );
});

t.test('RFC 3711 B.3: session keys derived from the master key (labels 0, 1, 2)', async (t) => {
  const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
  t.equal(upper(native.srtpDerive(key, salt, 0, 16)), 'C61E7A93744F39EE10734AFE3FF7A087', 'cipher key');
  t.equal(upper(native.srtpDerive(key, salt, 2, 14)), '30CBBC08863D8C85D49DB34A9AE1', 'cipher salt');
  t.equal(
    upper(native.srtpDerive(key, salt, 1, 94)),
    'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE' +
      'E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25' +
      '6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2',
    'auth key (the 94 bytes the RFC lists)',
  );
});

function rtp(seq: number, ssrc = 0x11223344, payload = Buffer.alloc(160, 0x55)): Buffer {
  const b = Buffer.alloc(12 + payload.length + 10);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  payload.copy(b, 12);
  return b;
}

function pair(suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80', extra: { lifetime?: number; mki?: Buffer } = {}) {
  const keySalt = randomBytes(30);
  return {
    sender: new SrtpContext({ suite, keySalt, ...extra }),
    receiver: new SrtpContext({ suite, keySalt, ...extra }),
  };
}

function protect(ctx: SrtpContext, plain: Buffer): Buffer {
  const b = Buffer.alloc(plain.length + ctx.rtpTrailerBytes);
  plain.copy(b);
  const n = ctx.protectRtp(b, plain.length);
  if (n < 0) throw new Error(srtpRefusalOf(n));
  return b.subarray(0, n);
}

t.test('round trip for both suites: tag sizes, ciphertext differs, plaintext restored', async (t) => {
  for (const [suite, tag] of [
    ['AES_CM_128_HMAC_SHA1_80', 10],
    ['AES_CM_128_HMAC_SHA1_32', 4],
  ] as const) {
    const { sender, receiver } = pair(suite);
    t.equal(sender.rtpTrailerBytes, tag, `${suite} RTP tag`);
    t.equal(sender.rtcpTrailerBytes, 14, `${suite} SRTCP: E||index + 80-bit tag (RFC 4568 6.2.2)`);
    const plain = rtp(1000).subarray(0, 172);
    const wire = protect(sender, plain);
    t.equal(wire.length, 172 + tag);
    t.same(wire.subarray(0, 12), plain.subarray(0, 12), 'header in clear');
    t.not(upper(wire.subarray(12, 172)), upper(plain.subarray(12, 172)), 'payload encrypted');
    t.equal(receiver.unprotectRtp(wire, wire.length), 172);
    t.same(wire.subarray(0, 172), plain);
  }
});

t.test('rollover counter: a sequence wrap, reordered across it, keeps decrypting', async (t) => {
  const { sender, receiver } = pair();
  const seqs = [65533, 65534, 65535, 65536, 65537, 65538];
  const plains = seqs.map((s) => rtp(s, 7, randomBytes(160)).subarray(0, 172));
  const wires = plains.map((p) => protect(sender, p));
  for (const i of [0, 1, 3, 2, 5, 4]) {
    const copy = Buffer.from(wires[i]!);
    t.equal(receiver.unprotectRtp(copy, copy.length), 172, `seq ${seqs[i]! & 0xffff}`);
    t.same(copy.subarray(0, 172), plains[i]);
  }
});

t.test('replay window: duplicates and packets 64 behind are refused, unchanged', async (t) => {
  const { sender, receiver } = pair();
  const wires = Array.from({ length: 100 }, (_, i) => protect(sender, rtp(5000 + i).subarray(0, 172)));
  const copy = (i: number) => Buffer.from(wires[i]!);
  for (let i = 1; i < 100; i++) t.equal(receiver.unprotectRtp(copy(i), 172 + 10), 172);
  const dup = copy(50);
  t.equal(srtpRefusalOf(receiver.unprotectRtp(dup, dup.length)), 'srtp-replayed');
  t.same(dup, wires[50], 'a refused packet is left as it came');
  t.equal(srtpRefusalOf(receiver.unprotectRtp(copy(0), 182)), 'srtp-too-old', '99 behind');
  t.equal(srtpRefusalOf(receiver.unprotectRtp(copy(35), 182)), 'srtp-too-old', '64 behind');
  t.equal(srtpRefusalOf(receiver.unprotectRtp(copy(36), 182)), 'srtp-replayed', '63 behind, seen');
});

t.test('tampering anywhere (header, payload, tag) fails authentication and changes nothing', async (t) => {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    const { sender, receiver } = pair(suite);
    const wire = protect(sender, rtp(1).subarray(0, 172));
    for (const at of [1, 3, 11, 12, 100, 171, wire.length - 1]) {
      const bad = Buffer.from(wire);
      bad[at]! ^= 0x01;
      const before = Buffer.from(bad);
      t.equal(
        srtpRefusalOf(receiver.unprotectRtp(bad, bad.length)),
        'srtp-auth-failed',
        `${suite} byte ${at}`,
      );
      t.same(bad, before);
    }
    t.equal(
      receiver.unprotectRtp(wire, wire.length),
      172,
      'the genuine packet still passes after the forgeries',
    );
    t.equal(srtpRefusalOf(receiver.unprotectRtp(Buffer.alloc(8), 8)), 'srtp-malformed');
  }
});

t.test('a forged packet from a new SSRC does not take a source slot', async (t) => {
  const { sender, receiver } = pair();
  for (let ssrc = 1; ssrc <= 40; ssrc++) {
    const forged = rtp(1, ssrc).subarray(0, 182);
    t.equal(srtpRefusalOf(receiver.unprotectRtp(forged, 182)), 'srtp-auth-failed');
  }
  const wire = protect(sender, rtp(1, 99).subarray(0, 172));
  t.equal(receiver.unprotectRtp(wire, wire.length), 172);
});

t.test('SRTCP: E flag and index, replay, tamper; protect needs room for the trailer', async (t) => {
  const { sender, receiver } = pair('AES_CM_128_HMAC_SHA1_32');
  const report = Buffer.alloc(28 + 14);
  report[0] = 0x80;
  report[1] = 201; // RR
  report.writeUInt16BE(6, 2);
  report.writeUInt32BE(0xabcdef01, 4);
  randomBytes(20).copy(report, 8);
  const plain = Buffer.from(report.subarray(0, 28));
  t.equal(srtpRefusalOf(sender.protectRtcp(report.subarray(0, 30), 28)), 'srtp-no-room');
  const wires: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const b = Buffer.from(report);
    plain.copy(b);
    t.equal(sender.protectRtcp(b, 28), 42);
    t.equal(b.readUInt32BE(28), 0x80000000 + i, 'E=1, index counts from 0');
    wires.push(b);
  }
  const bad = Buffer.from(wires[1]!);
  bad[20]! ^= 4;
  t.equal(srtpRefusalOf(receiver.unprotectRtcp(bad, 42)), 'srtp-auth-failed');
  t.equal(receiver.unprotectRtcp(Buffer.from(wires[1]!), 42), 28);
  const first = Buffer.from(wires[0]!);
  t.equal(receiver.unprotectRtcp(first, 42), 28, 'older index within the window');
  t.same(first.subarray(0, 28), plain);
  t.equal(srtpRefusalOf(receiver.unprotectRtcp(Buffer.from(wires[0]!), 42)), 'srtp-replayed');
});

t.test('MKI: carried before the tag; a different MKI is refused', async (t) => {
  const keySalt = randomBytes(30);
  const sender = new SrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt, mki: hex('0001') });
  const receiver = new SrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt, mki: hex('0001') });
  t.equal(sender.rtpTrailerBytes, 12);
  const plain = rtp(7).subarray(0, 172);
  const b = Buffer.alloc(200);
  plain.copy(b);
  const n = sender.protectRtp(b, 172);
  t.equal(n, 184);
  t.equal(upper(b.subarray(172, 174)), '0001');
  const other = Buffer.from(b.subarray(0, n));
  other[173] = 2;
  t.equal(srtpRefusalOf(receiver.unprotectRtp(other, n)), 'srtp-bad-mki');
  t.equal(receiver.unprotectRtp(b, n), 172);
});

t.test('key lifetime: the packet after the last one allowed is refused both ways', async (t) => {
  const { sender, receiver } = pair('AES_CM_128_HMAC_SHA1_80', { lifetime: 3 });
  const wires = [1, 2, 3].map((s) => protect(sender, rtp(s).subarray(0, 172)));
  const b = rtp(4);
  t.equal(srtpRefusalOf(sender.protectRtp(b, 172)), 'srtp-key-exhausted');
  for (const w of wires) t.equal(receiver.unprotectRtp(w, w.length), 172);
  const late = pair('AES_CM_128_HMAC_SHA1_80');
  const fourth = protect(late.sender, rtp(4).subarray(0, 172));
  t.equal(srtpRefusalOf(receiver.unprotectRtp(fourth, fourth.length)), 'srtp-key-exhausted');
});

t.test('the native status names are the reasons TS knows', async (t) => {
  t.same([...native.srtpStatusNames].sort(), ['ok', 'srtp-no-room', ...srtpInboundRefusals].sort());
});

t.test('keys stay out of logs: JSON and inspect show the suite only', async (t) => {
  const { sender } = pair();
  t.equal(JSON.stringify(sender), '{"suite":"AES_CM_128_HMAC_SHA1_80"}');
  t.throws(() => new SrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt: randomBytes(29) }), RangeError);
});

// Our SRTP against libsrtp2 (the reference implementation, Debian libsrtp2-dev; `npm test` installs
// it): our protect -> libsrtp unprotect and libsrtp protect -> our unprotect, both suites, thousands
// of random RTP packets (CSRCs, header extensions, empty to 400-byte payloads) through two sequence
// wraps, delivered reordered within the replay window; then replays and tampered packets, which
// both sides refuse; SRTCP both ways.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { SrtpContext, srtpRefusalOf } from '../../src/media/srtp-context.js';
import { buildOracle, runOracle, type OracleOp } from './srtp/libsrtp-oracle.js';

const oracle = buildOracle();
const suites = [
  ['AES_CM_128_HMAC_SHA1_80', '80'],
  ['AES_CM_128_HMAC_SHA1_32', '32'],
] as const;
const PACKETS = 3000;
// libsrtp's srtp_err_status_t values we expect on refusals.
const LIBSRTP_AUTH_FAIL = 7;
const LIBSRTP_REPLAY_FAIL = 9;
const LIBSRTP_REPLAY_OLD = 10;

/** A random RTP packet: CSRCs, an extension, padding-free payload of 0-400 bytes. */
function randomRtp(seq: number, ssrc: number): Buffer {
  const cc = randomInt(0, 3);
  const extWords = randomInt(0, 2) === 1 ? randomInt(0, 4) : -1;
  const header = 12 + 4 * cc + (extWords >= 0 ? 4 + 4 * extWords : 0);
  const b = randomBytes(header + randomInt(0, 401));
  b[0] = 0x80 | (extWords >= 0 ? 0x10 : 0) | cc;
  b[1] = randomInt(0, 128);
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ssrc, 8);
  if (extWords >= 0) b.writeUInt16BE(extWords, 12 + 4 * cc + 2);
  return b;
}

function randomRtcp(ssrc: number): Buffer {
  const words = randomInt(1, 20);
  const b = randomBytes(8 + 4 * words);
  b[0] = 0x80 | randomInt(0, 32);
  b[1] = 200 + randomInt(0, 5);
  b.writeUInt16BE(1 + words, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

/**
 * Delivery order: each packet moved at most `spread` places (inside the 64-packet window), never
 * across a multiple of `segment` (where sequence() jumps).
 */
function reordered(n: number, spread = 8, segment = SEGMENT): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i + 1 < n; i++) {
    if (randomInt(0, 4) !== 0) continue;
    const end = Math.min(n, (Math.floor(i / segment) + 1) * segment) - 1;
    const j = Math.min(end, i + randomInt(1, spread));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Sequence numbers from just below a wrap, through two wraps (ROC 0 -> 2): consecutive within
 * each segment of SEGMENT packets, and 32000 ahead (under half the sequence space, so still
 * "forward" by RFC 3711 §3.3.1) between segments.
 */
const SEGMENT = 1000;
function sequence(): number[] {
  const first = 65536 - randomInt(100, 500);
  return Array.from({ length: PACKETS }, (_, i) => (first + i + 32000 * Math.floor(i / SEGMENT)) & 0xffff);
}

function ourProtect(ctx: SrtpContext, plain: Buffer, rtcp = false): Buffer {
  const b = Buffer.alloc(plain.length + (rtcp ? ctx.rtcpTrailerBytes : ctx.rtpTrailerBytes));
  plain.copy(b);
  const n = rtcp ? ctx.protectRtcp(b, plain.length) : ctx.protectRtp(b, plain.length);
  if (n < 0) throw new Error(`protect refused: ${srtpRefusalOf(n)}`);
  return b.subarray(0, n);
}

t.test('libsrtp oracle', { skip: 'error' in oracle ? oracle.error : false }, async (t) => {
  const exe = 'path' in oracle ? oracle.path : '';

  for (const [suite, tag] of suites) {
    t.test(`${suite}: our protect -> libsrtp unprotect, reordered, two wraps`, async (t) => {
      const keySalt = randomBytes(30);
      const ours = new SrtpContext({ suite, keySalt });
      const ssrc = randomInt(0, 2 ** 32);
      const plains = sequence().map((seq) => randomRtp(seq, ssrc));
      const wires = plains.map((p) => ourProtect(ours, p));
      // The last packet is held back: a forged copy of it goes first, then the genuine one.
      const order = reordered(PACKETS - 1);
      const replays = [order[10]!, order[1500]!, order[PACKETS - 2]!];
      const last = wires[PACKETS - 1]!;
      const tampered = Buffer.from(last);
      tampered[tampered.length - 1]! ^= 0x80;
      const requests: { op: OracleOp; bytes: Buffer }[] = [
        ...order.map((i) => ({ op: 'unprotect-rtp' as const, bytes: wires[i]! })),
        ...replays.map((i) => ({ op: 'unprotect-rtp' as const, bytes: wires[i]! })),
        { op: 'unprotect-rtp', bytes: tampered },
        { op: 'unprotect-rtp', bytes: last },
      ];
      const results = runOracle(exe, tag, 'in', keySalt, requests);
      let ok = 0;
      order.forEach((i, k) => {
        if (results[k]!.status === 0 && results[k]!.bytes.equals(plains[i]!)) ok++;
      });
      t.equal(ok, PACKETS - 1, 'every packet authenticated and decrypted to the original');
      // A replay far behind may be taken for a packet of the next ROC (§3.3.1) and fail its tag.
      const refused = [LIBSRTP_REPLAY_FAIL, LIBSRTP_REPLAY_OLD, LIBSRTP_AUTH_FAIL];
      for (let k = 0; k < replays.length; k++) {
        t.ok(refused.includes(results[PACKETS - 1 + k]!.status), 'libsrtp refuses the replay');
      }
      t.equal(results.at(-2)!.status, LIBSRTP_AUTH_FAIL, 'libsrtp refuses the tampered packet');
      t.ok(
        results.at(-1)!.status === 0 && results.at(-1)!.bytes.equals(plains[PACKETS - 1]!),
        'then takes the genuine one',
      );
    });

    t.test(`${suite}: libsrtp protect -> our unprotect, reordered, two wraps`, async (t) => {
      const keySalt = randomBytes(30);
      const ours = new SrtpContext({ suite, keySalt });
      const ssrc = randomInt(0, 2 ** 32);
      const plains = sequence().map((seq) => randomRtp(seq, ssrc));
      const results = runOracle(
        exe,
        tag,
        'out',
        keySalt,
        plains.map((bytes) => ({ op: 'protect-rtp', bytes })),
      );
      t.ok(
        results.every((r) => r.status === 0),
        'libsrtp protected all',
      );
      const wires = results.map((r) => r.bytes);
      const heldBack = 40; // the last packets: first forged, then delivered, then replayed
      const deliver = (i: number): boolean => {
        const b = Buffer.from(wires[i]!);
        const n = ours.unprotectRtp(b, b.length);
        return n === plains[i]!.length && b.subarray(0, n).equals(plains[i]!);
      };
      let ok = 0;
      for (const i of reordered(PACKETS - heldBack)) if (deliver(i)) ok++;
      const refusals = new Map<string, number>();
      const count = (n: number) => {
        const r = n < 0 ? srtpRefusalOf(n) : 'accepted';
        refusals.set(r, (refusals.get(r) ?? 0) + 1);
      };
      for (let k = 0; k < 200; k++) {
        const b = Buffer.from(wires[randomInt(PACKETS - heldBack, PACKETS)]!);
        b[randomInt(0, b.length)]! ^= 1 << randomInt(0, 8);
        count(ours.unprotectRtp(b, b.length));
      }
      // A flipped version, CC or X bit can make the header not fit (malformed), a flipped sequence
      // bit can move the index into what was seen (replayed / too old): refused before the tag.
      const seen = JSON.stringify(Object.fromEntries(refusals));
      t.notOk(refusals.has('accepted'), `every tampered packet refused (${seen})`);
      t.ok((refusals.get('srtp-auth-failed') ?? 0) > 150, 'most by their tag');
      for (let i = PACKETS - heldBack; i < PACKETS; i++) if (deliver(i)) ok++;
      t.equal(ok, PACKETS, 'every genuine packet authenticated and decrypted to the original');
      refusals.clear();
      for (let i = PACKETS - heldBack; i < PACKETS; i++)
        count(ours.unprotectRtp(Buffer.from(wires[i]!), wires[i]!.length));
      t.same(Object.fromEntries(refusals), { 'srtp-replayed': heldBack }, 'replays in the window refused');
      refusals.clear();
      // Far behind: outside the window, or taken for the next ROC (RFC 3711 §3.3.1) and failing the tag.
      for (const i of [5, 1000, 1999, PACKETS - 100])
        count(ours.unprotectRtp(Buffer.from(wires[i]!), wires[i]!.length));
      t.notOk(
        refusals.has('accepted'),
        `old replays refused (${JSON.stringify(Object.fromEntries(refusals))})`,
      );
    });

    t.test(`${suite}: SRTCP both ways (80-bit tag, E flag, index)`, async (t) => {
      const keySalt = randomBytes(30);
      const ssrc = randomInt(0, 2 ** 32);
      const ours = new SrtpContext({ suite, keySalt });
      const plains = Array.from({ length: 300 }, () => randomRtcp(ssrc));
      const toLibsrtp = runOracle(
        exe,
        tag,
        'in',
        keySalt,
        plains.map((p) => ({ op: 'unprotect-rtcp', bytes: ourProtect(ours, p, true) })),
      );
      t.ok(
        toLibsrtp.every((r, i) => r.status === 0 && r.bytes.equals(plains[i]!)),
        'libsrtp reads all of ours',
      );
      const fromLibsrtp = runOracle(
        exe,
        tag,
        'out',
        keySalt,
        plains.map((bytes) => ({ op: 'protect-rtcp', bytes })),
      );
      const theirs = new SrtpContext({ suite, keySalt });
      let ok = 0;
      for (const i of reordered(plains.length)) {
        const b = Buffer.from(fromLibsrtp[i]!.bytes);
        const n = theirs.unprotectRtcp(b, b.length);
        if (n === plains[i]!.length && b.subarray(0, n).equals(plains[i]!)) ok++;
      }
      t.equal(ok, plains.length, 'we read all of libsrtp');
      const again = Buffer.from(fromLibsrtp[299]!.bytes);
      t.equal(srtpRefusalOf(theirs.unprotectRtcp(again, again.length)), 'srtp-replayed');
    });
  }
});

// What SRTP adds per packet on the media path as the RTP session calls it: one protectRtp or
// unprotectRtp through the typed wrapper (src/media/srtp-context.ts) into the addon, in place on a
// 20 ms G.711 packet (12 + 160 bytes), the JS <-> C++ crossing included. Best of 7 runs of 50,000
// packets; bench/srtp.cc has the native cost alone against libsrtp. Prints numbers, asserts nothing.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SrtpContext } from '../src/media/srtp-context.js';

const PACKETS = 50_000;
const keySalt = randomBytes(30);
const plain = Buffer.alloc(12 + 160);
plain[0] = 0x80;
plain.writeUInt32BE(0x12345678, 8);
randomBytes(160).copy(plain, 12);

function best(run: () => void): number {
  run();
  let bestMs = Infinity;
  for (let i = 0; i < 7; i++) {
    const start = performance.now();
    run();
    bestMs = Math.min(bestMs, performance.now() - start);
  }
  return (bestMs * 1e6) / PACKETS;
}

const sealed: Buffer[] = [];
const buf = Buffer.alloc(plain.length + 10);
const protectNs = best(() => {
  const ctx = new SrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt });
  for (let i = 0; i < PACKETS; i++) {
    plain.copy(buf);
    buf.writeUInt16BE(i & 0xffff, 2);
    const n = ctx.protectRtp(buf, plain.length);
    if (sealed.length < PACKETS) sealed.push(Buffer.from(buf.subarray(0, n)));
  }
});
const unprotectNs = best(() => {
  const ctx = new SrtpContext({ suite: 'AES_CM_128_HMAC_SHA1_80', keySalt });
  for (let i = 0; i < PACKETS; i++) {
    const s = sealed[i]!;
    s.copy(buf);
    if (ctx.unprotectRtp(buf, s.length) < 0) throw new Error('unprotect refused');
  }
});
const copyNs = best(() => {
  for (let i = 0; i < PACKETS; i++) sealed[i]!.copy(buf);
});
console.log(
  `SRTP through the wrapper, AES_CM_128_HMAC_SHA1_80, 172-byte packets: protect ${protectNs.toFixed(0)} ns, ` +
    `unprotect ${unprotectNs.toFixed(0)} ns per packet (the test loop's copy: ${copyNs.toFixed(0)} ns); ` +
    `a 20 ms call: ${(((protectNs + unprotectNs) * 50) / 1e7).toFixed(4)} % of one core`,
);

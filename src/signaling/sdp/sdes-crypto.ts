// SDES (RFC 4568): SRTP master keys carried in SDP, one a=crypto line per offered key.
//
//   a=crypto:<tag> <crypto-suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>] [<session-param>]*
//   a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4
//
// @see RFC 4568 section 9.1 (grammar), 6.1 (inline key parameters), 6.2 (the SRTP suites), 7.1.1
// (the answerer picks one offered line and answers with its tag and its own key).
// We take the two AES-CM suites with one inline key each; a line with another suite, several keys
// or a session parameter we do not implement (UNENCRYPTED_*, KDR other than 0, FEC_*) is
// unusable and skipped, so an offer with only such lines gets 488. WSH (a window size hint,
// §6.3.7) is accepted: our window is 64, the minimum it may ask for.
import { randomBytes } from 'node:crypto';
import { srtpKeySaltBytes, srtpSuites, type SrtpKeyParams, type SrtpSuite } from '../../media/srtp-suites.js';

/** One usable a=crypto line. */
export interface SdesCrypto extends SrtpKeyParams {
  /** The line's tag (1*9DIGIT): the answer echoes the tag it accepts. */
  readonly tag: number;
}

const CRYPTO_LINE = /^(\d{1,9}) ([A-Za-z0-9_]+) (\S+)((?: \S+)*)\s*$/;
const INLINE = /^inline:([A-Za-z0-9+/]+={0,2})(?:\|(2\^\d{1,2}|\d{1,20}))?(?:\|(\d{1,20}):(\d{1,3}))?$/;

/** Parses the value of an a=crypto attribute (after "crypto:"); undefined when we cannot use it. */
export function parseCryptoAttribute(value: string): SdesCrypto | undefined {
  const m = CRYPTO_LINE.exec(value);
  if (m === null) return undefined;
  const suite = m[2]!;
  if (!(srtpSuites as readonly string[]).includes(suite)) return undefined;
  // Several keys (';'-separated) would be told apart by MKI on each packet; we hold one.
  if (m[3]!.includes(';')) return undefined;
  const inline = INLINE.exec(m[3]!);
  if (inline === null) return undefined;
  const keySalt = Buffer.from(inline[1]!, 'base64');
  if (keySalt.length !== srtpKeySaltBytes) return undefined;
  for (const param of m[4]!.trim().split(' ').filter(Boolean)) {
    if (/^WSH=\d{1,9}$/.test(param) || param === 'KDR=0') continue;
    return undefined;
  }
  const lifetime = inline[2] === undefined ? undefined : parseLifetime(inline[2]);
  if (lifetime === null) return undefined;
  let mki: Buffer | undefined;
  if (inline[3] !== undefined) {
    const length = Number(inline[4]);
    const value = BigInt(inline[3]);
    if (length < 1 || length > 128 || value >= 1n << BigInt(8 * length)) return undefined;
    mki = Buffer.alloc(length);
    for (let i = length - 1, v = value; i >= 0; i--, v >>= 8n) mki[i] = Number(v & 0xffn);
  }
  return {
    tag: Number(m[1]),
    suite: suite as SrtpSuite,
    keySalt,
    ...(lifetime !== undefined && { lifetime }),
    ...(mki !== undefined && { mki }),
  };
}

/** "2^31" or "2147483648": packets, at most 2^48 (RFC 3711 §9.2); null when out of range. */
function parseLifetime(text: string): number | null {
  const value = text.startsWith('2^') ? 2 ** Number(text.slice(2)) : Number(text);
  return Number.isSafeInteger(value) && value >= 1 && value <= 2 ** 48 ? value : null;
}

/** The a=crypto value for our own key: no lifetime (RFC 3711's maximum) and no MKI. */
export function formatCryptoAttribute(crypto: SdesCrypto): string {
  return `${crypto.tag} ${crypto.suite} ${inlineKeyParams(crypto)}`;
}

/** `inline:<base64 key||salt>`, the key-params of our a=crypto lines. */
export function inlineKeyParams(crypto: SdesCrypto): string {
  return `inline:${Buffer.from(crypto.keySalt).toString('base64')}`;
}

/** A fresh master key and salt for `suite` (RFC 4568 §6.1: from a cryptographic RNG). */
export function freshCrypto(tag: number, suite: SrtpSuite): SdesCrypto {
  return { tag, suite, keySalt: randomBytes(srtpKeySaltBytes) };
}

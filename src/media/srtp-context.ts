// SRTP/SRTCP (RFC 3711) for a call's media: one native context per direction, each holding one
// master key (SDES, RFC 4568) and per-SSRC state (rollover counter, replay window, SRTCP index).
// One native call per packet, in place on the caller's buffer: no per-byte work in JS and no
// allocation on the media path. The crypto is native/srtp.cc on the OpenSSL that Node ships.
// Keys are never logged: `toJSON` and `inspect` of these classes show only the suite.
import { inspect } from 'node:util';
import { native } from './native-addon.js';
import type { RawSrtpContext } from './bindings/srtp-binding.js';
import {
  srtpKeySaltBytes,
  srtpSuites,
  type SrtpKeyParams,
  type SrtpRefusal,
  type SrtpSuite,
} from './srtp-suites.js';

export {
  srtpKeySaltBytes,
  srtpSuites,
  type SrtpKeyParams,
  type SrtpRefusal,
  type SrtpSuite,
} from './srtp-suites.js';

/** The reason of a negative result of protect / unprotect. */
export function srtpRefusalOf(status: number): SrtpRefusal {
  return (native.srtpStatusNames[-status] as SrtpRefusal | undefined) ?? 'srtp-crypto-error';
}

/** One direction: protects what we send, or unprotects what the peer sends, never both. */
export class SrtpContext {
  readonly suite: SrtpSuite;
  readonly #raw: RawSrtpContext;
  /** Bytes protectRtp / protectRtcp append (MKI + tag; for RTCP also E||index). */
  readonly rtpTrailerBytes: number;
  readonly rtcpTrailerBytes: number;

  constructor(key: SrtpKeyParams) {
    if (!srtpSuites.includes(key.suite)) throw new RangeError(`unsupported SRTP suite ${String(key.suite)}`);
    if (key.keySalt.length !== srtpKeySaltBytes) {
      throw new RangeError(`SRTP key||salt must be ${srtpKeySaltBytes} bytes, got ${key.keySalt.length}`);
    }
    this.suite = key.suite;
    this.#raw = new native.SrtpContext(
      key.suite,
      key.keySalt,
      key.lifetime ?? 0,
      key.mki ?? new Uint8Array(0),
    );
    this.rtpTrailerBytes = this.#raw.rtpTrailerBytes;
    this.rtcpTrailerBytes = this.#raw.rtcpTrailerBytes;
  }

  /**
   * Encrypts and authenticates packet[0, length) in place; `packet` must have rtpTrailerBytes
   * more room. Returns the protected length, or a negative status (srtpRefusalOf).
   */
  protectRtp(packet: Uint8Array, length: number): number {
    return this.#raw.protectRtp(packet, length);
  }

  /** Checks and decrypts packet[0, length) in place: the plain length, or a negative status. */
  unprotectRtp(packet: Uint8Array, length: number): number {
    return this.#raw.unprotectRtp(packet, length);
  }

  protectRtcp(packet: Uint8Array, length: number): number {
    return this.#raw.protectRtcp(packet, length);
  }

  unprotectRtcp(packet: Uint8Array, length: number): number {
    return this.#raw.unprotectRtcp(packet, length);
  }

  toJSON(): { suite: SrtpSuite } {
    return { suite: this.suite };
  }

  [inspect.custom](): string {
    return `SrtpContext(${this.suite})`;
  }
}

/** Both directions of a call: `outbound` under our key, `inbound` under the peer's. */
export interface SrtpKeys {
  readonly local: SrtpKeyParams;
  readonly remote: SrtpKeyParams;
}

/** A call's two contexts, made from the keys offer/answer agreed. */
export class SrtpSession {
  readonly outbound: SrtpContext;
  readonly inbound: SrtpContext;
  constructor(keys: SrtpKeys) {
    this.outbound = new SrtpContext(keys.local);
    this.inbound = new SrtpContext(keys.remote);
  }

  toJSON(): { suite: SrtpSuite } {
    return { suite: this.outbound.suite };
  }
}

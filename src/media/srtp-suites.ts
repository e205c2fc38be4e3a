// The SRTP suites and key shape the media layer implements, without the native addon: the SDP
// layer (sdes-crypto.ts) names them when it parses a=crypto, which needs no crypto itself.

/** The SDES suites we implement (RFC 4568 §6.2). */
export const srtpSuites = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const;
export type SrtpSuite = (typeof srtpSuites)[number];

/** Master key and salt bytes of both suites: 16 + 14. */
export const srtpKeySaltBytes = 30;

/** One direction's master key as signalled in an a=crypto line. */
export interface SrtpKeyParams {
  readonly suite: SrtpSuite;
  /** Master key || master salt, 30 bytes. */
  readonly keySalt: Uint8Array;
  /** Key lifetime in packets (the a=crypto lifetime parameter); undefined: RFC 3711's maximum. */
  readonly lifetime?: number | undefined;
  /** The MKI the peer puts on each packet (a=crypto "|MKI:length"); undefined: none. */
  readonly mki?: Uint8Array | undefined;
}

/** Why an incoming SRTP/SRTCP packet was refused (the native SrtpStatus names). */
export const srtpInboundRefusals = [
  'srtp-malformed',
  'srtp-auth-failed',
  'srtp-replayed',
  'srtp-too-old',
  'srtp-key-exhausted',
  'srtp-bad-mki',
  'srtp-too-many-ssrcs',
  'srtp-crypto-error',
] as const;
export type SrtpInboundRefusal = (typeof srtpInboundRefusals)[number];

/** Why protect or unprotect refused a packet: protect may also lack room for the trailer. */
export type SrtpRefusal = SrtpInboundRefusal | 'srtp-no-room';

// Raw shape of the SrtpContext binding (native/addon_srtp.cc).
// Only the typed wrapper src/media/srtp-context.ts uses it.

export interface RawSrtpContext {
  /** Protects packet[0, length) in place, the trailer after it: new length, or a negative status. */
  protectRtp(packet: Uint8Array, length: number): number;
  /** Checks and decrypts packet[0, length) in place: plain length, or a negative status (packet unchanged). */
  unprotectRtp(packet: Uint8Array, length: number): number;
  protectRtcp(packet: Uint8Array, length: number): number;
  unprotectRtcp(packet: Uint8Array, length: number): number;
  readonly rtpTrailerBytes: number;
  readonly rtcpTrailerBytes: number;
}

export interface SrtpBinding {
  /** suite 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32'; keySalt 30 bytes; lifetime 0 = max. */
  SrtpContext: new (suite: string, keySalt: Uint8Array, lifetime: number, mki: Uint8Array) => RawSrtpContext;
  /** RFC 3711 §4.3.1 key derivation (r = 0): `length` bytes for `label`. */
  srtpDerive(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer;
  /** RFC 3711 §4.1.1 AES-CM keystream from a 16-byte IV. */
  srtpKeystream(key: Uint8Array, iv: Uint8Array, length: number): Buffer;
  /** Reason of each status: srtpStatusNames[-status]. */
  readonly srtpStatusNames: readonly string[];
}

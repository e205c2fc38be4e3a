// Typed values for the one audio stream of a call, as offered by the peer (RemoteMedia) and as
// agreed by offer/answer (NegotiatedMedia). Both signaling backends and the media layer speak
// these types; sdp-transform's own types never leave src/signaling/sdp/.
import type { SdesCrypto } from './sdes-crypto.js';

/** A malformed or unusable session description (RFC 4566). The caller answers 400 or 488. */
export class SdpError extends Error {
  override readonly name = 'SdpError';
}

/** The call codecs we implement: G.711 μ-law and A-law (RFC 3551 section 4.5.14). */
export type CallCodec = 'PCMU' | 'PCMA';

/** RFC 3264 section 5.1 stream direction. */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface RemoteCodec {
  readonly payloadType: number;
  /** Encoding name as written (rtpmap) or from RFC 3551 table 4 for a static type. */
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** The a=fmtp parameters for this payload type, verbatim. */
  readonly fmtp?: string;
}

/** One m= line of the offer, kept so an answer can reject the others in place (RFC 3264 §6). */
export interface OfferedMLine {
  readonly media: string;
  readonly protocol: string;
  readonly formats: string;
}

/** The first audio stream of a peer's session description. */
export interface RemoteMedia {
  /** Connection address (media-level c= over session-level c=), IPv4 or IPv6. */
  readonly address: string;
  readonly addressFamily: 'IP4' | 'IP6';
  /** RTP port; 0 means the peer rejected or disabled the stream (RFC 3264 §5.1). */
  readonly port: number;
  /** `RTP/AVP`, or `RTP/SAVP` with SDES keys (RFC 4568); other profiles are refused. */
  readonly protocol: string;
  /** The usable a=crypto lines of the audio stream, in the offerer's order (sdes-crypto.ts). */
  readonly crypto: readonly SdesCrypto[];
  /** Every payload type of the m= line with a known encoding, in the peer's preference order. */
  readonly codecs: readonly RemoteCodec[];
  /** RFC 4733 telephone-event at 8000 Hz if offered (any dynamic payload type), else the first one. */
  readonly telephoneEvent?: RemoteCodec;
  readonly ptimeMs?: number;
  readonly maxptimeMs?: number;
  /** Media-level a= direction over session-level, sendrecv if neither. */
  readonly direction: MediaDirection;
  /** RFC 3264 §8.4: `c=0.0.0.0` (RFC 2543 style), a=sendonly or a=inactive. */
  readonly onHold: boolean;
  /** o= session id and version: a re-INVITE with the same version changes nothing (RFC 3264 §8). */
  readonly sessionId: string;
  readonly sessionVersion: string;
  /** Index of the audio stream among all m= lines, and every m= line of the description. */
  readonly mLineIndex: number;
  readonly mLines: readonly OfferedMLine[];
}

/** What both sides agreed for the audio stream. */
export interface NegotiatedMedia {
  readonly codec: CallCodec;
  readonly payloadType: number;
  readonly clockRate: 8000;
  readonly telephoneEventPt?: number;
  readonly ptimeMs: number;
  /** Where to send RTP (before symmetric-RTP latching). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Our direction: what we put in the answer, and whether we may send (sendrecv/sendonly). */
  readonly direction: MediaDirection;
  /** The peer put us on hold: do not send audio to it. */
  readonly onHold: boolean;
  /** SRTP (RTP/SAVP): our key (what we send under) and the peer's, with the tag agreed. */
  readonly srtp?: NegotiatedSrtp;
  /** For an answer: the offer's m= lines, so the others are rejected with port 0 in place. */
  readonly mLineIndex?: number;
  readonly offeredMLines?: readonly OfferedMLine[];
}

/** SDES keys agreed by offer/answer (RFC 4568 §7): one suite, one tag, a key per direction. */
export interface NegotiatedSrtp {
  /** Our key, sent in our SDP: we protect what we send with it. */
  readonly local: SdesCrypto;
  /** The peer's key: we unprotect what it sends with it. */
  readonly remote: SdesCrypto;
}

/** `media.srtp`: off refuses RTP/SAVP offers, required refuses RTP/AVP ones (488 either way). */
export type SrtpPolicy = 'off' | 'optional' | 'required';

/** Answer direction for an offered direction (RFC 3264 section 6.1). */
export function answerDirection(offered: MediaDirection): MediaDirection {
  switch (offered) {
    case 'sendrecv':
      return 'sendrecv';
    case 'sendonly':
      return 'recvonly';
    case 'recvonly':
      return 'sendonly';
    case 'inactive':
      return 'inactive';
  }
}

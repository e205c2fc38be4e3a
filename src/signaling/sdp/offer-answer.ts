// RFC 3264 offer/answer for one G.711 audio stream plus RFC 4733 telephone-event, over plain RTP
// (RTP/AVP) or SRTP with SDES keys (RTP/SAVP, RFC 4568; media.srtp decides which we take).
// Both roles: answering a peer's offer (negotiate + buildAnswer) and offering ourselves for a
// late-offer INVITE or an outbound call (buildOffer + parseAnswer).
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import { parseSdp } from './parse-sdp.js';
import {
  SdpError,
  answerDirection,
  type CallCodec,
  type MediaDirection,
  type NegotiatedMedia,
  type RemoteCodec,
  type NegotiatedSrtp,
  type RemoteMedia,
  type SrtpPolicy,
} from './media-description.js';
import { freshCrypto, inlineKeyParams, type SdesCrypto } from './sdes-crypto.js';

export interface CodecPrefs {
  readonly codecs: readonly CallCodec[];
  /** Our packetisation when the peer states none (default 20). */
  readonly ptimeMs?: number;
  /** media.srtp (default off: RTP/SAVP refused, as before SRTP existed). */
  readonly srtp?: SrtpPolicy;
  /** Our key so far (a re-INVITE): kept, so our stream is not re-keyed; offers without its suite get null. */
  readonly localCrypto?: SdesCrypto;
}

export interface LocalMedia {
  /** Our RTP address as the peer must see it (advertised address). */
  readonly address: string;
  readonly port: number;
  /** o= session id, stable for a dialog; version bumps on every new offer/answer (RFC 3264 §8). */
  readonly sessionId?: string;
  readonly sessionVersion?: number;
}

export interface LocalOffer extends LocalMedia {
  readonly codecs: readonly CallCodec[];
  /** Dynamic payload type for telephone-event; 101 is what most peers use. */
  readonly telephoneEventPt?: number;
  readonly ptimeMs?: number;
  readonly direction?: MediaDirection;
  /** Our SDES keys, one a=crypto line each: the offer is RTP/SAVP when there are any. */
  readonly crypto?: readonly SdesCrypto[];
}

const STATIC_PT: Readonly<Record<CallCodec, number>> = { PCMU: 0, PCMA: 8 };
const DEFAULT_PTIME_MS = 20;
/** Receive side handles 10–60 ms frames (RFC 3551 §4.5: G.711 frame sizes; SIPp's pcap is 30 ms). */
const MIN_PTIME_MS = 10;
const MAX_PTIME_MS = 60;
/** We receive DTMF events 0–15 and flash (16), as Asterisk offers (RFC 4733 §3.2). */
const TELEPHONE_EVENT_FMTP = '0-16';

/**
 * Picks the codec for an offer: the offerer's order among the codecs we allow
 * (RFC 3264 §6.1). Returns null when nothing fits (the caller answers 488).
 */
export function negotiate(remote: RemoteMedia, prefs: CodecPrefs): NegotiatedMedia | null {
  if (remote.port === 0) return null;
  const srtp = negotiateSrtp(remote, prefs);
  if (srtp === null) return null;
  const chosen = remote.codecs.find((c) => callCodecOf(c) !== null && prefs.codecs.includes(callCodecOf(c)!));
  if (chosen === undefined) return null;
  const events = remote.telephoneEvent;
  // c=0.0.0.0 is RFC 2543 hold: the offerer will not receive, whatever its a= line says (RFC 3264 §8.4).
  const unspecified = remote.address === '0.0.0.0' || remote.address === '::';
  const offered = unspecified ? withoutReceive(remote.direction) : remote.direction;
  return {
    codec: callCodecOf(chosen)!,
    payloadType: chosen.payloadType,
    clockRate: 8000,
    ...(events !== undefined && events.clockRate === 8000 && { telephoneEventPt: events.payloadType }),
    ptimeMs: choosePtimeMs(remote.ptimeMs, remote.maxptimeMs, prefs.ptimeMs),
    remoteAddress: remote.address,
    remotePort: remote.port,
    direction: answerDirection(offered),
    onHold: remote.onHold,
    ...(srtp !== undefined && { srtp }),
    mLineIndex: remote.mLineIndex,
    offeredMLines: remote.mLines,
  };
}

/**
 * The profile decides (RFC 4568 §7.1): RTP/AVP is plain unless SRTP is required; RTP/SAVP gets
 * SRTP unless it is off, with the first offered a=crypto line we can use and our own fresh key of
 * its suite (§7.1.2: the answerer's key is its own, never the offerer's). Anything else (SAVPF,
 * DTLS-SRTP's UDP/TLS/RTP/SAVP) is refused. undefined: plain RTP; null: no acceptable answer.
 */
function negotiateSrtp(remote: RemoteMedia, prefs: CodecPrefs): NegotiatedSrtp | undefined | null {
  const policy = prefs.srtp ?? 'off';
  const profile = remote.protocol.toUpperCase();
  if (profile === 'RTP/AVP') return policy === 'required' ? null : undefined;
  if (profile !== 'RTP/SAVP' || policy === 'off') return null;
  // A re-INVITE (our key so far given) must stay on our suite: we keep sending under our key.
  const kept = prefs.localCrypto;
  const theirs = kept === undefined ? remote.crypto[0] : remote.crypto.find((c) => c.suite === kept.suite);
  if (theirs === undefined) return null;
  const local =
    kept !== undefined
      ? { tag: theirs.tag, suite: kept.suite, keySalt: kept.keySalt }
      : freshCrypto(theirs.tag, theirs.suite);
  return { local, remote: theirs };
}

/** The SDP answer for a negotiated offer; other offered m= lines are rejected with port 0. */
export function buildAnswer(n: NegotiatedMedia, local: LocalMedia): string {
  const audio = audioMedia(
    local.port,
    [{ codec: n.codec, pt: n.payloadType }],
    n.telephoneEventPt,
    n.ptimeMs,
    n.direction,
    n.srtp === undefined ? [] : [n.srtp.local],
  );
  const offered = n.offeredMLines ?? [];
  const media =
    offered.length > 1 && n.mLineIndex !== undefined
      ? offered.map((m, i) =>
          i === n.mLineIndex
            ? audio
            : { type: m.media, port: 0, protocol: m.protocol, payloads: m.formats || '0', rtp: [], fmtp: [] },
        )
      : [audio];
  return writeSession(local, media);
}

/**
 * The keys of our own offer under media.srtp: required offers RTP/SAVP with both suites (fresh
 * keys); optional and off offer plain RTP/AVP (best-effort SRTP would need RFC 5939).
 */
export function offeredCrypto(policy: SrtpPolicy | undefined): SdesCrypto[] {
  if (policy !== 'required') return [];
  return [freshCrypto(1, 'AES_CM_128_HMAC_SHA1_80'), freshCrypto(2, 'AES_CM_128_HMAC_SHA1_32')];
}

/** Our SDP offer (late-offer INVITE answered with 200 + offer, or an outbound INVITE). */
export function buildOffer(local: LocalOffer): string {
  if (local.codecs.length === 0) throw new SdpError('an offer needs at least one codec');
  const eventPt = local.telephoneEventPt ?? 101;
  if (!Number.isInteger(eventPt) || eventPt < 96 || eventPt > 127) {
    throw new RangeError(`telephoneEventPt ${eventPt} is not a dynamic payload type 96–127`);
  }
  const codecs = local.codecs.map((codec) => ({ codec, pt: STATIC_PT[codec] }));
  const ptimeMs = local.ptimeMs ?? DEFAULT_PTIME_MS;
  return writeSession(local, [
    audioMedia(local.port, codecs, eventPt, ptimeMs, local.direction ?? 'sendrecv', local.crypto ?? []),
  ]);
}

/**
 * Reads the peer's answer to our offer. The answer must pick one of our codecs
 * (RFC 3264 §6: a subset of the offer); otherwise the call cannot proceed and this throws.
 */
export function parseAnswer(
  text: string,
  offer: {
    readonly codecs: readonly CallCodec[];
    readonly ptimeMs?: number;
    readonly crypto?: readonly SdesCrypto[];
  },
): NegotiatedMedia {
  const remote = parseSdp(text);
  if (remote.port === 0) throw new SdpError('the answer rejected the audio stream (port 0)');
  const srtp = answeredSrtp(remote, offer.crypto ?? []);
  const chosen = remote.codecs.find((c) => callCodecOf(c) !== null && offer.codecs.includes(callCodecOf(c)!));
  if (chosen === undefined) {
    const names = remote.codecs.map((c) => c.name).join(', ') || 'none';
    throw new SdpError(`the answer has none of our codecs (${offer.codecs.join(', ')}); it has ${names}`);
  }
  const events = remote.telephoneEvent;
  const unspecified = remote.address === '0.0.0.0' || remote.address === '::';
  return {
    codec: callCodecOf(chosen)!,
    payloadType: chosen.payloadType,
    clockRate: 8000,
    ...(events !== undefined && events.clockRate === 8000 && { telephoneEventPt: events.payloadType }),
    ptimeMs: choosePtimeMs(remote.ptimeMs, remote.maxptimeMs, offer.ptimeMs),
    remoteAddress: remote.address,
    remotePort: remote.port,
    direction: answerDirection(unspecified ? withoutReceive(remote.direction) : remote.direction),
    onHold: remote.onHold,
    ...(srtp !== undefined && { srtp }),
  };
}

/** The answer to our RTP/SAVP offer echoes the tag of one of our lines with its own key (RFC 4568 §7.1.3). */
function answeredSrtp(remote: RemoteMedia, offered: readonly SdesCrypto[]): NegotiatedSrtp | undefined {
  const savp = remote.protocol.toUpperCase() === 'RTP/SAVP';
  if (offered.length === 0) {
    if (savp) throw new SdpError('the answer is RTP/SAVP to our RTP/AVP offer');
    return undefined;
  }
  if (!savp) throw new SdpError(`the answer is ${remote.protocol} to our RTP/SAVP offer`);
  for (const theirs of remote.crypto) {
    const ours = offered.find((c) => c.tag === theirs.tag && c.suite === theirs.suite);
    if (ours !== undefined) return { local: ours, remote: theirs };
  }
  throw new SdpError('the answer has no a=crypto line matching one of ours');
}

function callCodecOf(c: RemoteCodec): CallCodec | null {
  if (c.clockRate !== 8000 || (c.channels !== undefined && c.channels !== 1)) return null;
  const name = c.name.toUpperCase();
  return name === 'PCMU' || name === 'PCMA' ? name : null;
}

function withoutReceive(d: MediaDirection): MediaDirection {
  return d === 'sendrecv' || d === 'sendonly' ? 'sendonly' : 'inactive';
}

function choosePtimeMs(
  remoteMs: number | undefined,
  maxMs: number | undefined,
  preferredMs: number | undefined,
): number {
  if (remoteMs !== undefined && remoteMs >= MIN_PTIME_MS && remoteMs <= MAX_PTIME_MS) return remoteMs;
  const ours = preferredMs ?? DEFAULT_PTIME_MS;
  // Honour a=maxptime (RFC 4566 §6) when the peer states one below our default.
  if (maxMs !== undefined && maxMs >= MIN_PTIME_MS && maxMs < ours) return Math.floor(maxMs / 10) * 10;
  return ours;
}

type WritableMedia = sdpTransform.MediaDescription;

function audioMedia(
  port: number,
  codecs: readonly { codec: CallCodec; pt: number }[],
  eventPt: number | undefined,
  ptimeMs: number,
  direction: MediaDirection,
  crypto: readonly SdesCrypto[],
): WritableMedia {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`local RTP port ${port} is not 1–65535`);
  const rtp: { payload: number; codec: string; rate: number }[] = codecs.map(({ codec, pt }) => ({
    payload: pt,
    codec,
    rate: 8000,
  }));
  const fmtp: { payload: number; config: string }[] = [];
  if (eventPt !== undefined) {
    rtp.push({ payload: eventPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: eventPt, config: TELEPHONE_EVENT_FMTP });
  }
  return {
    type: 'audio',
    port,
    protocol: crypto.length > 0 ? 'RTP/SAVP' : 'RTP/AVP',
    payloads: rtp.map((r) => r.payload).join(' '),
    rtp,
    fmtp,
    ptime: ptimeMs,
    direction,
    ...(crypto.length > 0 && {
      crypto: crypto.map((c) => ({ id: c.tag, suite: c.suite, config: inlineKeyParams(c) })),
    }),
  };
}

function writeSession(local: LocalMedia, media: WritableMedia[]): string {
  const family = isIP(local.address);
  if (family === 0)
    throw new RangeError(`local media address ${JSON.stringify(local.address)} is not an IP address`);
  const ipVer = family === 6 ? 6 : 4;
  const sessionId = local.sessionId ?? String(randomInt(1, 2 ** 47));
  if (!/^\d{1,20}$/.test(sessionId))
    throw new RangeError(`SDP session id ${JSON.stringify(sessionId)} is not numeric`);
  return sdpTransform.write({
    version: 0,
    // sdp-transform writes sessionId verbatim; the string keeps a 64-bit id intact.
    origin: {
      username: 'grok-sip',
      sessionId,
      sessionVersion: local.sessionVersion ?? 1,
      netType: 'IN',
      ipVer,
      address: local.address,
    },
    name: 'grok-sip',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  });
}

// Peer SDP (RFC 4566) → RemoteMedia for the first audio m= line. sdp-transform does the
// attribute parsing; it is lenient (it returns `{media: []}` for any text), so the line
// structure, m= line, c= line and port are checked here first.
import { isIP } from 'node:net';
import * as sdpTransform from 'sdp-transform';
import {
  SdpError,
  type MediaDirection,
  type OfferedMLine,
  type RemoteCodec,
  type RemoteMedia,
} from './media-description.js';
import { parseCryptoAttribute, type SdesCrypto } from './sdes-crypto.js';

/** Far above any real offer (a few hundred bytes); bounds parsing work on hostile input. */
const MAX_SDP_BYTES = 64 * 1024;

/** RFC 3551 table 4: static audio payload types usable without a=rtpmap. */
const STATIC_AUDIO_TYPES: ReadonlyMap<number, { name: string; clockRate: number }> = new Map([
  [0, { name: 'PCMU', clockRate: 8000 }],
  [3, { name: 'GSM', clockRate: 8000 }],
  [4, { name: 'G723', clockRate: 8000 }],
  [5, { name: 'DVI4', clockRate: 8000 }],
  [6, { name: 'DVI4', clockRate: 16000 }],
  [7, { name: 'LPC', clockRate: 8000 }],
  [8, { name: 'PCMA', clockRate: 8000 }],
  [9, { name: 'G722', clockRate: 8000 }],
  [10, { name: 'L16', clockRate: 44100 }],
  [11, { name: 'L16', clockRate: 44100 }],
  [12, { name: 'QCELP', clockRate: 8000 }],
  [13, { name: 'CN', clockRate: 8000 }],
  [14, { name: 'MPA', clockRate: 90000 }],
  [15, { name: 'G728', clockRate: 8000 }],
  [16, { name: 'DVI4', clockRate: 11025 }],
  [17, { name: 'DVI4', clockRate: 22050 }],
  [18, { name: 'G729', clockRate: 8000 }],
]);

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 4566 section 5.14)
const M_LINE = /^m=([A-Za-z0-9_-]+) (\d+)(?:\/(\d+))? ([A-Za-z0-9/_.-]+)((?: [^ ]+)*) *$/;
// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (RFC 4566 5.2);
// read here because sdp-transform turns a 64-bit sess-id into a lossy number.
const O_LINE = /^o=\S+ (\d+) (\d+) /;
const TYPE_LINE = /^[a-z]=/;

interface RawMLine extends OfferedMLine {
  readonly port: number;
}

/** Parses a peer's SDP; throws SdpError naming what is wrong. */
export function parseSdp(text: string): RemoteMedia {
  if (typeof text !== 'string') throw new SdpError(`SDP must be a string, got ${typeof text}`);
  if (text.length > MAX_SDP_BYTES) throw new SdpError(`SDP is ${text.length} bytes, limit ${MAX_SDP_BYTES}`);
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  if (lines[0]?.trim() !== 'v=0') throw new SdpError('not an SDP body: the first line must be v=0');
  const bad = lines.find((line) => !TYPE_LINE.test(line));
  if (bad !== undefined) throw new SdpError(`malformed SDP line ${JSON.stringify(bad.slice(0, 80))}`);

  const originMatch = lines.map((line) => O_LINE.exec(line)).find((m) => m !== null);
  const rawMLines: RawMLine[] = [];
  const mLineAt: number[] = [];
  for (const [at, line] of lines.entries()) {
    if (!line.startsWith('m=')) continue;
    mLineAt.push(at);
    const m = M_LINE.exec(line);
    if (m === null) throw new SdpError(`malformed m= line ${JSON.stringify(line.slice(0, 80))}`);
    const port = Number(m[2]);
    if (!Number.isInteger(port) || port > 65535) throw new SdpError(`m= line port ${m[2]} is not 0–65535`);
    rawMLines.push({ media: m[1]!, port, protocol: m[4]!, formats: m[5]!.trim() });
  }
  const audioIndex = rawMLines.findIndex((m) => m.media === 'audio');
  const raw = rawMLines[audioIndex];
  if (raw === undefined) throw new SdpError('no audio m= line in SDP');

  const session = sdpTransform.parse(text);
  const media = session.media[audioIndex];
  if (media === undefined || media.port !== raw.port) {
    throw new SdpError('audio m= line could not be parsed');
  }

  const connection = media.connection ?? session.connection;
  if (connection === undefined) throw new SdpError('no c= line for the audio stream (RFC 4566 5.7)');
  // A multicast TTL / address count suffix ("224.2.1.1/127") is not ours to honour.
  const address = connection.ip.split('/')[0] ?? '';
  const family = isIP(address);
  if (family === 0) throw new SdpError(`c= address ${JSON.stringify(address)} is not an IP address`);
  if (family !== connection.version) {
    throw new SdpError(`c= address ${address} does not match its address type IP${connection.version}`);
  }

  const codecs = readCodecs(raw.formats, media.rtp, media.fmtp);
  const events = codecs.filter((c) => c.name.toLowerCase() === 'telephone-event');
  const telephoneEvent = events.find((c) => c.clockRate === 8000) ?? events[0];

  const direction: MediaDirection = media.direction ?? session.direction ?? 'sendrecv';
  // a=crypto is media-level only (RFC 4568 §9.1); read from the lines because sdp-transform
  // keeps one session parameter per line.
  const section = lines.slice(mLineAt[audioIndex]! + 1, mLineAt[audioIndex + 1] ?? lines.length);
  const crypto = section
    .filter((line) => line.startsWith('a=crypto:'))
    .map((line) => parseCryptoAttribute(line.slice('a=crypto:'.length)))
    .filter((c): c is SdesCrypto => c !== undefined);
  const unspecified = address === '0.0.0.0' || address === '::';

  return {
    address,
    addressFamily: family === 6 ? 'IP6' : 'IP4',
    port: raw.port,
    protocol: raw.protocol,
    crypto,
    codecs,
    ...(telephoneEvent !== undefined && { telephoneEvent }),
    ...(validMs(media.ptime) && { ptimeMs: media.ptime }),
    ...(validMs(media.maxptime) && { maxptimeMs: media.maxptime }),
    direction,
    onHold: unspecified || direction === 'sendonly' || direction === 'inactive',
    sessionId: originMatch?.[1] ?? '0',
    sessionVersion: originMatch?.[2] ?? '0',
    mLineIndex: audioIndex,
    mLines: rawMLines.map(({ media: kind, protocol, formats }) => ({ media: kind, protocol, formats })),
  };
}

function validMs(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 1000;
}

function readCodecs(
  formats: string,
  rtpmaps: readonly { payload: number; codec: string; rate?: number; encoding?: number }[],
  fmtps: readonly { payload: number; config: string }[],
): RemoteCodec[] {
  const codecs: RemoteCodec[] = [];
  for (const format of formats.split(' ')) {
    if (!/^\d{1,3}$/.test(format)) continue;
    const payloadType = Number(format);
    if (payloadType > 127) continue;
    // An rtpmap overrides the static table (RFC 4566 6: "a=rtpmap" for static types is allowed).
    const rtpmap = rtpmaps.find((r) => r.payload === payloadType);
    const known = rtpmap
      ? { name: rtpmap.codec, clockRate: rtpmap.rate ?? 0, channels: rtpmap.encoding }
      : STATIC_AUDIO_TYPES.get(payloadType);
    // A dynamic type without rtpmap cannot be interpreted, so it cannot be chosen either.
    if (known === undefined || known.clockRate <= 0) continue;
    const fmtp = fmtps.find((f) => f.payload === payloadType)?.config;
    codecs.push({
      payloadType,
      name: known.name,
      clockRate: known.clockRate,
      ...('channels' in known && known.channels !== undefined && { channels: known.channels }),
      ...(fmtp !== undefined && { fmtp }),
    });
  }
  return codecs;
}

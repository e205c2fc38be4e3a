// The edge where a UDP datagram on the RTP port becomes a typed RTP packet, or a named reason
// to drop it, and where an outbound packet becomes bytes. Both run once per packet per call
// (100 datagrams a second each way), so both read and write the header by hand into storage the
// session reuses: no object, DataView or copy per packet (an rtp.js RtpPacket, its views and the
// result object were ~3 % of grok-sip's CPU and most of its garbage at 500 calls, issue 16).
// The checks that decide what we accept are ours, because rtp.js 0.15.5 is not a validator:
//   - it accepts a padding count of 0 (RFC 3550 §5.1: the count includes itself, so ≥ 1);
//   - it accepts RTCP packet types (200-204) as RTP payload types 72-76 with the marker set;
//   - it bounds the header extension (and the elements inside it) by the underlying ArrayBuffer,
//     not by the datagram: on a Buffer from Node's 8 KiB pool an extension length past the
//     datagram reads the neighbouring bytes and only fails later, as a misleading "announced
//     padding is bigger than available space" (dgram hands each datagram its own ArrayBuffer
//     today, so this bites in tests and in any code that pools buffers);
//   - isRtp() reads byte 0 before checking the length (an empty datagram throws).
// So the header is walked here (RFC 3550 §5.1 layout, A.1 validity checks); rtp.js only checks
// the RFC 8285 elements of a header extension, on the rare packet that has one.
import { RtpPacket } from 'rtp.js/packets';
import { nodeBufferToDataView } from 'rtp.js/utils';
import { srtpInboundRefusals, type SrtpInboundRefusal } from './srtp-suites.js';

/** Why a datagram on the RTP port is not a packet we can use (rtp-datagram.ts decides). */
export type RtpMalformation =
  | 'too-large'
  | 'too-short'
  | 'bad-version'
  | 'rtcp-on-rtp-port'
  | 'unknown-payload-type'
  | 'csrc-overrun'
  | 'extension-overrun'
  | 'bad-padding'
  | 'bad-payload'
  | 'malformed';

/**
 * Why an inbound datagram was dropped (each counted in the session stats): malformed, refused by
 * the source rules of rtp-latch.ts, or bad RTCP.
 */
export type RtpDropReason =
  | RtpMalformation
  | 'foreign-source'
  | 'latch-probation'
  | 'ssrc-probation'
  | 'bad-rtcp'
  | 'rtcp-foreign-source'
  | SrtpDropReason;

/** SRTP/SRTCP datagrams that fail unprotect (srtp-context.ts; RFC 3711 §3.3). */
export type SrtpDropReason = SrtpInboundRefusal;

export const rtpDropReasons: readonly RtpDropReason[] = [
  'too-large',
  'too-short',
  'bad-version',
  'rtcp-on-rtp-port',
  'unknown-payload-type',
  'csrc-overrun',
  'extension-overrun',
  'bad-padding',
  'bad-payload',
  'malformed',
  'foreign-source',
  'latch-probation',
  'ssrc-probation',
  'bad-rtcp',
  'rtcp-foreign-source',
  ...srtpInboundRefusals,
];

/** The RTP fields we read and write (RFC 3550 §5.1), the one list both directions share. */
export interface RtpFields {
  payloadType: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}

/** An accepted inbound RTP packet, as handed to the call. `payload` is a view into the datagram. */
export interface InboundRtpPacket extends RtpFields {
  arrivalMs: number;
}

const fixedHeaderBytes = 12;

/**
 * Walks the RTP header of `datagram` (RFC 3550 §5.1) without allocating:
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |           synchronization source (SSRC) identifier            |
 * |            CC × contributing source (CSRC), 4 bytes each      |
 * |  profile-defined (X=1)        |  extension length (32-bit words)
 * |                  extension, length × 4 bytes                  |
 * |                  payload ...  | padding ... | padding count   | (P=1)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Returns the payload's length, or why the datagram is refused. `acceptedPayloadTypes` is what
 * the SDP negotiated (plus comfort noise).
 */
export function checkRtpHeader(
  datagram: Buffer,
  acceptedPayloadTypes: ReadonlySet<number>,
  maxDatagramBytes: number,
): number | RtpMalformation {
  const length = datagram.length;
  if (length > maxDatagramBytes) return 'too-large';
  if (length < fixedHeaderBytes) return 'too-short';
  const first = datagram[0]!;
  if (first >> 6 !== 2) return 'bad-version';
  // RFC 5761 §4: RTCP packet types 200–204 land in the RTP marker+PT byte as 192–223 (the range
  // RFC 5761 reserves); a peer that assumes rtcp-mux sends them here. We did not offer rtcp-mux.
  const second = datagram[1]!;
  if (second >= 192 && second <= 223) return 'rtcp-on-rtp-port';
  if (!acceptedPayloadTypes.has(second & 0x7f)) return 'unknown-payload-type';
  let end = fixedHeaderBytes + (first & 0x0f) * 4;
  if (end > length) return 'csrc-overrun';
  if ((first & 0x10) !== 0) {
    if (end + 4 > length) return 'extension-overrun';
    end += 4 + datagram.readUInt16BE(end + 2) * 4;
    if (end > length) return 'extension-overrun';
  }
  let padding = 0;
  if ((first & 0x20) !== 0) {
    padding = datagram[length - 1]!;
    if (padding === 0 || padding > length - end) return 'bad-padding';
  }
  const payloadBytes = length - end - padding;
  return payloadBytes === 0 ? 'bad-payload' : payloadBytes;
}

/**
 * Reads one datagram received on the RTP port into `into` (the session's one reused record:
 * nothing is allocated per packet but the payload's view), or returns why it is refused.
 * `into.payload` is a view into `datagram`, not a copy. Never throws.
 */
export function readRtpDatagram(
  datagram: Buffer,
  arrivalMs: number,
  acceptedPayloadTypes: ReadonlySet<number>,
  maxDatagramBytes: number,
  into: InboundRtpPacket,
): RtpMalformation | undefined {
  const payloadBytes = checkRtpHeader(datagram, acceptedPayloadTypes, maxDatagramBytes);
  if (typeof payloadBytes === 'string') return payloadBytes;
  const first = datagram[0]!;
  if ((first & 0x10) !== 0 && !extensionElementsFit(datagram)) return 'malformed';
  const payloadEnd =
    (first & 0x20) === 0 ? datagram.length : datagram.length - datagram[datagram.length - 1]!;
  const second = datagram[1]!;
  into.payloadType = second & 0x7f;
  into.marker = second >= 0x80;
  into.seq = datagram.readUInt16BE(2);
  into.ts = datagram.readUInt32BE(4);
  into.ssrc = datagram.readUInt32BE(8);
  into.payload = datagram.subarray(payloadEnd - payloadBytes, payloadEnd);
  into.arrivalMs = arrivalMs;
  return undefined;
}

/**
 * Header extensions are rare on a phone call's RTP, so their one check left after
 * checkRtpHeader stays rtp.js's: a one- or two-byte extension element (RFC 8285) whose announced
 * length runs past its extension block makes it throw.
 */
function extensionElementsFit(datagram: Buffer): boolean {
  try {
    new RtpPacket(nodeBufferToDataView(datagram));
    return true;
  } catch {
    return false;
  }
}

/** readRtpDatagram into a fresh record, for tools and tests that keep packets. */
export function parseRtpDatagram(
  datagram: Buffer,
  arrivalMs: number,
  acceptedPayloadTypes: ReadonlySet<number>,
  maxDatagramBytes: number,
): InboundRtpPacket | RtpMalformation {
  const packet = emptyInboundRtpPacket();
  return readRtpDatagram(datagram, arrivalMs, acceptedPayloadTypes, maxDatagramBytes, packet) ?? packet;
}

export function emptyInboundRtpPacket(): InboundRtpPacket {
  return { payloadType: 0, seq: 0, ts: 0, ssrc: 0, marker: false, payload: Buffer.alloc(0), arrivalMs: 0 };
}

/**
 * Writes one outbound RTP packet (fixed header, no CSRC, extension or padding; RFC 3550 §5.1)
 * into `into` at offset 0 and returns its length. `into` must hold 12 + payload bytes.
 */
export function writeRtpPacket(fields: RtpFields, into: Uint8Array): number {
  into[0] = 0x80; // V=2, P=0, X=0, CC=0
  into[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  into[2] = fields.seq >>> 8;
  into[3] = fields.seq & 0xff;
  writeUint32(into, 4, fields.ts);
  writeUint32(into, 8, fields.ssrc);
  into.set(fields.payload, fixedHeaderBytes);
  return fixedHeaderBytes + fields.payload.length;
}

function writeUint32(into: Uint8Array, at: number, value: number): void {
  into[at] = value >>> 24;
  into[at + 1] = (value >>> 16) & 0xff;
  into[at + 2] = (value >>> 8) & 0xff;
  into[at + 3] = value & 0xff;
}

/** One outbound RTP packet in a buffer of its own (tests and tools; the session reuses buffers). */
export function serializeRtp(fields: RtpFields): Buffer {
  const bytes = Buffer.alloc(fixedHeaderBytes + fields.payload.length);
  writeRtpPacket(fields, bytes);
  return bytes;
}

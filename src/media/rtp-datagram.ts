// The edge where a UDP datagram on the RTP port becomes a typed RTP packet, or a named reason
// to drop it. Field reading is rtp.js's; the checks that decide what we accept are ours, and they
// run before rtp.js sees the bytes, because rtp.js 0.15.5 is not a validator:
//   - it accepts a padding count of 0 (RFC 3550 §5.1: the count includes itself, so ≥ 1);
//   - it accepts RTCP packet types (200-204) as RTP payload types 72-76 with the marker set;
//   - it bounds the header extension (and the elements inside it) by the underlying ArrayBuffer,
//     not by the datagram: on a Buffer from Node's 8 KiB pool an extension length past the
//     datagram reads the neighbouring bytes and only fails later, as a misleading "announced
//     padding is bigger than available space" (dgram hands each datagram its own ArrayBuffer
//     today, so this bites in tests and in any code that pools buffers);
//   - isRtp() reads byte 0 before checking the length (an empty datagram throws).
// So the header is walked here first (RFC 3550 §5.1 layout, A.1 validity checks) and rtp.js only
// parses what is known to fit; an exception it still raises is a 'malformed' drop.
import { RtpPacket } from 'rtp.js/packets';
import { nodeBufferToDataView } from 'rtp.js/utils';

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
  | 'rtcp-foreign-source';

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
 * Parses one datagram received on the RTP port: checkRtpHeader, then rtp.js for the fields.
 * Never throws.
 */
export function parseRtpDatagram(
  datagram: Buffer,
  arrivalMs: number,
  acceptedPayloadTypes: ReadonlySet<number>,
  maxDatagramBytes: number,
): InboundRtpPacket | RtpMalformation {
  const checked = checkRtpHeader(datagram, acceptedPayloadTypes, maxDatagramBytes);
  if (typeof checked === 'string') return checked;
  let packet: RtpPacket;
  try {
    // What is left to throw here: a one- or two-byte header extension element (RFC 8285) whose
    // announced length runs past its extension block.
    packet = new RtpPacket(nodeBufferToDataView(datagram));
  } catch {
    return 'malformed';
  }
  const view = packet.getPayload();
  return {
    seq: packet.getSequenceNumber(),
    ts: packet.getTimestamp(),
    ssrc: packet.getSsrc(),
    payloadType: packet.getPayloadType(),
    marker: packet.getMarker(),
    payload: Buffer.from(view.buffer, view.byteOffset, view.byteLength),
    arrivalMs,
  };
}

/** Serializes one outbound RTP packet with rtp.js. */
export function serializeRtp(fields: RtpFields): Buffer {
  const packet = new RtpPacket();
  packet.setPayloadType(fields.payloadType);
  packet.setSequenceNumber(fields.seq);
  packet.setTimestamp(fields.ts);
  packet.setSsrc(fields.ssrc);
  packet.setMarker(fields.marker);
  packet.setPayload(nodeBufferToDataView(fields.payload));
  const view = packet.getView();
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

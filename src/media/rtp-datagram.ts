// The edge where a UDP datagram on the RTP port becomes a typed RTP packet, or a named reason
// to drop it. Parsing is rtp.js's; the checks that decide what we accept are ours.
import { RtpPacket } from 'rtp.js/packets';
import { nodeBufferToDataView } from 'rtp.js/utils';

/** Why an inbound datagram was dropped (each counted in the session stats). */
export type RtpDropReason =
  | 'too-large'
  | 'truncated'
  | 'bad-version'
  | 'rtcp-on-rtp-port'
  | 'unknown-payload-type'
  | 'bad-payload'
  | 'wrong-source'
  | 'bad-rtcp'
  | 'rtcp-wrong-source';

export const rtpDropReasons: readonly RtpDropReason[] = [
  'too-large',
  'truncated',
  'bad-version',
  'rtcp-on-rtp-port',
  'unknown-payload-type',
  'bad-payload',
  'wrong-source',
  'bad-rtcp',
  'rtcp-wrong-source',
];

/** An accepted inbound RTP packet, as handed to the call. `payload` is a view into the datagram. */
export interface InboundRtpPacket {
  seq: number;
  ts: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  payload: Buffer;
  arrivalMs: number;
}

const fixedHeaderBytes = 12;

/**
 * Parses one datagram received on the RTP port. `acceptedPayloadTypes` is what the SDP
 * negotiated (plus comfort noise). Never throws.
 */
export function parseRtpDatagram(
  datagram: Buffer,
  arrivalMs: number,
  acceptedPayloadTypes: ReadonlySet<number>,
  maxDatagramBytes: number,
): InboundRtpPacket | RtpDropReason {
  if (datagram.length > maxDatagramBytes) return 'too-large';
  // rtp.js's isRtp() reads byte 0 before checking the length, so an empty datagram would throw.
  if (datagram.length < fixedHeaderBytes) return 'truncated';
  const first = datagram[0]!;
  if (first >> 6 !== 2) return 'bad-version';
  // RFC 5761 §4: RTCP packet types 200–204 land in the RTP marker+PT byte as 192–223 (the range
  // RFC 5761 reserves); a peer that assumes rtcp-mux sends them here. We did not offer rtcp-mux.
  const second = datagram[1]!;
  if (second >= 192 && second <= 223) return 'rtcp-on-rtp-port';
  const payloadType = second & 0x7f;
  if (!acceptedPayloadTypes.has(payloadType)) return 'unknown-payload-type';
  let packet: RtpPacket;
  try {
    // Throws RangeError when CSRCs, the header extension or the padding length run past the end.
    packet = new RtpPacket(nodeBufferToDataView(datagram));
  } catch {
    return 'truncated';
  }
  const view = packet.getPayload();
  if (view.byteLength === 0) return 'bad-payload';
  return {
    seq: packet.getSequenceNumber(),
    ts: packet.getTimestamp(),
    ssrc: packet.getSsrc(),
    payloadType,
    marker: packet.getMarker(),
    payload: Buffer.from(view.buffer, view.byteOffset, view.byteLength),
    arrivalMs,
  };
}

/** Serializes one outbound RTP packet with rtp.js. */
export function serializeRtp(fields: {
  payloadType: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}): Buffer {
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

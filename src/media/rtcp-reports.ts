// RTCP sender/receiver report packets (RFC 3550 §6.4): building our compound report and reading
// and validating the peer's SR/RR/BYE. Packets are rtp.js's; the statistics behind them are
// rtcp-statistics.ts (re-exported here for the report's users).
import {
  ByePacket,
  CompoundPacket,
  ReceiverReportPacket,
  ReceptionReport,
  SdesChunk,
  SdesPacket,
  SenderReportPacket,
} from 'rtp.js/packets';
import { nodeBufferToDataView } from 'rtp.js/utils';
import { ntpMiddle32, ntpTimeAt, type ReceptionReportFields, type SenderStats } from './rtcp-statistics.js';

export * from './rtcp-statistics.js';

export interface RtcpReportInput {
  ssrc: number;
  cname: string;
  nowMs: number;
  /** Present when we sent RTP since the last report: SR instead of RR. */
  sender?: SenderStats;
  reports: ReceptionReportFields[];
  /** Appends a BYE for our SSRC (RFC 3550 §6.6) when the session ends. */
  bye?: string;
}

/**
 * Our compound RTCP packet (RFC 3550 §6.1): SR if we sent media since the last report, else RR;
 * then SDES with CNAME, which every compound packet must carry; then an optional BYE.
 * Returns the bytes and the NTP middle-32 of the SR (to match against the peer's LSR for RTT).
 */
export function buildRtcpReport(input: RtcpReportInput): { bytes: Buffer; srNtpMiddle?: number } {
  const compound = new CompoundPacket();
  const blocks = input.reports.map((r) => {
    const block = new ReceptionReport();
    block.setSsrc(r.ssrc);
    block.setFractionLost(r.fractionLost);
    block.setTotalLost(r.totalLost);
    block.setHighestSeqNumber(r.highestSeq);
    block.setJitter(r.jitter);
    block.setLastSRTimestamp(r.lsr);
    block.setDelaySinceLastSR(r.dlsr);
    return block;
  });
  let srNtpMiddle: number | undefined;
  if (input.sender?.hasSent) {
    const sr = new SenderReportPacket();
    const ntp = ntpTimeAt(input.nowMs);
    sr.setSsrc(input.ssrc);
    sr.setNtpSeconds(ntp.seconds);
    sr.setNtpFraction(ntp.fraction);
    sr.setRtpTimestamp(input.sender.rtpTimestampAt(input.nowMs));
    sr.setPacketCount(input.sender.packetCount);
    sr.setOctetCount(input.sender.octetCount);
    sr.setReports(blocks);
    compound.addPacket(sr);
    srNtpMiddle = ntpMiddle32(ntp);
  } else {
    const rr = new ReceiverReportPacket();
    rr.setSsrc(input.ssrc);
    rr.setReports(blocks);
    compound.addPacket(rr);
  }
  const sdes = new SdesPacket();
  const chunk = new SdesChunk();
  chunk.setSsrc(input.ssrc);
  chunk.addItem(1 /* SdesItemType.CNAME, exported as a type only */, input.cname);
  sdes.addChunk(chunk);
  compound.addPacket(sdes);
  if (input.bye !== undefined) {
    const bye = new ByePacket();
    bye.addSsrc(input.ssrc);
    if (input.bye !== '') bye.setReason(input.bye);
    compound.addPacket(bye);
  }
  const view = compound.getView();
  const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  return srNtpMiddle === undefined ? { bytes } : { bytes, srNtpMiddle };
}

/** The parts of a peer's RTCP we use. */
export type RtcpReport =
  | {
      kind: 'sr';
      ssrc: number;
      ntp: { seconds: number; fraction: number };
      rtpTs: number;
      packetCount: number;
      octetCount: number;
      reports: ReceptionReportFields[];
    }
  | { kind: 'rr'; ssrc: number; reports: ReceptionReportFields[] }
  | { kind: 'bye'; ssrcs: number[]; reason?: string };

function blockFields(block: ReceptionReport): ReceptionReportFields {
  return {
    ssrc: block.getSsrc(),
    fractionLost: block.getFractionLost(),
    totalLost: block.getTotalLost(),
    highestSeq: block.getHighestSeqNumber(),
    jitter: block.getJitter(),
    lsr: block.getLastSRTimestamp(),
    dlsr: block.getDelaySinceLastSR(),
  };
}

/** Why a datagram on the RTCP port is not a compound RTCP packet we accept. */
export type RtcpFault =
  | 'too-short' // under 8 bytes: not even a header and an SSRC
  | 'bad-version' // a packet of the compound with version ≠ 2
  | 'not-rtcp' // a packet type outside 192–223 (RFC 5761 §4), e.g. RTP sent to the RTCP port
  | 'first-not-report' // RFC 3550 §6.1: a compound packet starts with SR or RR
  | 'padding-not-last' // RFC 3550 §6.4.1: only the last packet of a compound may be padded
  | 'bad-length'; // the packets' length fields do not add up to the datagram

/** Thrown by parseRtcpReport for a datagram RFC 3550 A.2's validity checks refuse. */
export class RtcpFormatError extends RangeError {
  constructor(readonly fault: RtcpFault) {
    super(`RTCP compound packet refused: ${fault}`);
    this.name = 'RtcpFormatError';
  }
}

const rtcpSr = 200;
const rtcpRr = 201;

/**
 * RFC 3550 A.2's header validity checks over a whole compound datagram, before rtp.js parses it:
 * every packet version 2 with an RTCP packet type, the first one SR or RR, padding only on the
 * last, and the length fields (32-bit words minus one) walking exactly to the end. rtp.js
 * 0.15.5 checks neither the first packet's type nor where padding is, and a length field past
 * the datagram makes it build a view over whatever follows in the underlying ArrayBuffer (a
 * pooled Buffer's neighbours) before its final length check throws.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  count  |      PT       |   length (words - 1)          |  ← repeated per packet
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
export function rtcpCompoundFault(datagram: Buffer): RtcpFault | undefined {
  const length = datagram.length;
  if (length < 8) return 'too-short';
  const second = datagram[1]!;
  if (second !== rtcpSr && second !== rtcpRr) {
    return datagram[0]! >> 6 !== 2
      ? 'bad-version'
      : second < 192 || second > 223
        ? 'not-rtcp'
        : 'first-not-report';
  }
  let pos = 0;
  while (pos < length) {
    if (pos + 4 > length) return 'bad-length';
    const first = datagram[pos]!;
    const type = datagram[pos + 1]!;
    if (first >> 6 !== 2) return 'bad-version';
    if (type < 192 || type > 223) return 'not-rtcp';
    const next = pos + (datagram.readUInt16BE(pos + 2) + 1) * 4;
    if (next > length) return 'bad-length';
    if ((first & 0x20) !== 0 && next !== length) return 'padding-not-last';
    pos = next;
  }
  return undefined;
}

/**
 * Reads a compound RTCP datagram. Throws RtcpFormatError (a RangeError) on anything
 * rtcpCompoundFault refuses, and rtp.js's TypeError/RangeError on a packet whose body is
 * inconsistent (the session catches, counts and drops). SDES, APP, feedback and XR are skipped.
 */
export function parseRtcpReport(datagram: Buffer): RtcpReport[] {
  const fault = rtcpCompoundFault(datagram);
  if (fault !== undefined) throw new RtcpFormatError(fault);
  const view = nodeBufferToDataView(datagram);
  const out: RtcpReport[] = [];
  for (const packet of new CompoundPacket(view).getPackets()) {
    if (packet instanceof SenderReportPacket) {
      out.push({
        kind: 'sr',
        ssrc: packet.getSsrc(),
        ntp: { seconds: packet.getNtpSeconds(), fraction: packet.getNtpFraction() },
        rtpTs: packet.getRtpTimestamp(),
        packetCount: packet.getPacketCount(),
        octetCount: packet.getOctetCount(),
        reports: packet.getReports().map(blockFields),
      });
    } else if (packet instanceof ReceiverReportPacket) {
      out.push({ kind: 'rr', ssrc: packet.getSsrc(), reports: packet.getReports().map(blockFields) });
    } else if (packet instanceof ByePacket) {
      const reason = packet.getReason();
      out.push(
        reason === undefined
          ? { kind: 'bye', ssrcs: packet.getSsrcs() }
          : { kind: 'bye', ssrcs: packet.getSsrcs(), reason },
      );
    }
  }
  return out;
}

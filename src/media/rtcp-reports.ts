// RTCP sender/receiver reports (RFC 3550 §6.4): the reception statistics behind them (sequence
// tracking A.1, loss A.3, interarrival jitter A.8, LSR/DLSR), building our compound report and
// reading the peer's SR/RR/BYE. Packets are rtp.js's; the statistics are ours.
import { performance } from 'node:perf_hooks';
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

const seqMod = 0x10000;
// RFC 3550 A.1 defaults: a jump of up to 3000 ahead is loss, up to 100 behind is reordering,
// anything else is a source restart (confirmed by the next packet following it in sequence).
const maxDropout = 3000;
const maxMisorder = 100;
// NTP epoch (1900) to Unix epoch (1970) in seconds.
const ntpUnixOffsetSec = 2208988800;

/** Wall-clock NTP time (RFC 3550 §4) for the given performance.now() instant. */
export function ntpTimeAt(perfNowMs: number): { seconds: number; fraction: number } {
  const unixMs = performance.timeOrigin + perfNowMs;
  const seconds = Math.floor(unixMs / 1000);
  const fraction = Math.floor(((unixMs - seconds * 1000) / 1000) * 0x100000000);
  return { seconds: (seconds + ntpUnixOffsetSec) >>> 0, fraction: Math.min(fraction, 0xffffffff) >>> 0 };
}

/** The middle 32 bits of an NTP timestamp (the LSR format, RFC 3550 §6.4.1). */
export function ntpMiddle32(ntp: { seconds: number; fraction: number }): number {
  return (((ntp.seconds & 0xffff) << 16) | (ntp.fraction >>> 16)) >>> 0;
}

/** One report block about a source we receive (RFC 3550 §6.4.1), in wire units. */
export interface ReceptionReportFields {
  ssrc: number;
  /** Fraction lost since the previous report, in 1/256. */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed: duplicates can make it negative). */
  totalLost: number;
  /** Extended highest sequence number received (cycles << 16 | highest seq). */
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR from this source, 0 if none. */
  lsr: number;
  /** Delay since that SR in 1/65536 s, 0 if none. */
  dlsr: number;
}

/** What we know about the one source we receive from. */
export class ReceptionStats {
  readonly ssrc: number;
  readonly #clockRate: number;
  #baseSeq = 0;
  #maxSeq = 0;
  #badSeq = seqMod + 1;
  #cycles = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #lastFractionLost = 0;
  #jitterTs = 0;
  #haveJitterBase = false;
  #lastTs = 0;
  #lastArrivalMs = 0;
  #lsr = 0;
  #lastSrArrivalMs: number | undefined;
  #restarts = 0;

  constructor(ssrc: number, firstSeq: number, clockRate = 8000) {
    this.ssrc = ssrc >>> 0;
    this.#clockRate = clockRate;
    this.#init(firstSeq);
  }

  #init(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = seqMod + 1;
    this.#cycles = 0;
    this.#received = 0;
    this.#expectedPrior = 0;
    this.#receivedPrior = 0;
  }

  /**
   * Counts one RTP packet of this source. `measureJitter` is false for telephone-events: all
   * packets of one event carry the event's start timestamp (RFC 4733 §2.5), which would read as
   * huge transit variations. Returns false for a packet RFC 3550 A.1 rejects as a big jump (the
   * session still uses it if the next packet confirms a restart).
   */
  onRtp(seq: number, ts: number, arrivalMs: number, measureJitter = true): boolean {
    const udelta = (seq - this.#maxSeq + seqMod) % seqMod;
    if (udelta < maxDropout) {
      if (seq < this.#maxSeq) this.#cycles += seqMod;
      this.#maxSeq = seq;
    } else if (udelta <= seqMod - maxMisorder) {
      if (seq === this.#badSeq) {
        // Two packets in sequence after a big jump: the source restarted (RFC 3550 A.1).
        this.#restarts++;
        this.#init(seq);
        this.#haveJitterBase = false;
      } else {
        this.#badSeq = (seq + 1) % seqMod;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted as received like RFC 3550 A.1 does.
    this.#received++;
    if (measureJitter) this.#updateJitter(ts >>> 0, arrivalMs);
    return true;
  }

  // RFC 3550 §6.4.1 / A.8: J += (|D| - J) / 16, D = difference of relative transit times,
  // computed as (arrival delta - timestamp delta) so no absolute transit is kept.
  #updateJitter(ts: number, arrivalMs: number): void {
    if (this.#haveJitterBase) {
      const tsDelta = (ts - this.#lastTs) | 0; // signed: wraps at 2^32
      const arrivalDeltaTs = ((arrivalMs - this.#lastArrivalMs) * this.#clockRate) / 1000;
      const d = Math.abs(arrivalDeltaTs - tsDelta);
      this.#jitterTs += (d - this.#jitterTs) / 16;
    }
    this.#haveJitterBase = true;
    this.#lastTs = ts;
    this.#lastArrivalMs = arrivalMs;
  }

  /** A sender report from this source arrived (for LSR/DLSR in our next report). */
  onSenderReport(ntp: { seconds: number; fraction: number }, arrivalMs: number): void {
    this.#lsr = ntpMiddle32(ntp);
    this.#lastSrArrivalMs = arrivalMs;
  }

  get received(): number {
    return this.#received;
  }
  get extendedHighestSeq(): number {
    return (this.#cycles + this.#maxSeq) >>> 0;
  }
  get expected(): number {
    return this.#cycles + this.#maxSeq - this.#baseSeq + 1;
  }
  get cumulativeLost(): number {
    return Math.max(-0x800000, Math.min(0x7fffff, this.expected - this.#received));
  }
  get jitterTs(): number {
    return this.#jitterTs;
  }
  get jitterMs(): number {
    return (this.#jitterTs * 1000) / this.#clockRate;
  }
  /** Fraction lost (1/256) as of the last report built. */
  get lastFractionLost(): number {
    return this.#lastFractionLost;
  }
  get restarts(): number {
    return this.#restarts;
  }

  /** The report block for now; starts a new loss interval (RFC 3550 A.3). */
  report(nowMs: number): ReceptionReportFields {
    const expected = this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    const lostInterval = expectedInterval - receivedInterval;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    this.#lastFractionLost =
      expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    const dlsr =
      this.#lastSrArrivalMs === undefined
        ? 0
        : Math.min(0xffffffff, Math.floor(((nowMs - this.#lastSrArrivalMs) / 1000) * 65536));
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, this.#lastFractionLost),
      totalLost: this.cumulativeLost,
      highestSeq: this.extendedHighestSeq,
      jitter: Math.floor(this.#jitterTs) >>> 0,
      lsr: this.#lsr,
      dlsr: this.#lastSrArrivalMs === undefined ? 0 : dlsr >>> 0,
    };
  }
}

/** What we sent, for our SR (RFC 3550 §6.4.1 sender info). */
export class SenderStats {
  readonly #clockRate: number;
  packetCount = 0;
  /** Payload octets only, as the SR's sender's octet count defines it. */
  octetCount = 0;
  #lastTs = 0;
  #lastAtMs: number | undefined;

  constructor(clockRate = 8000) {
    this.#clockRate = clockRate;
  }

  onSent(ts: number, payloadBytes: number, atMs: number): void {
    this.packetCount = (this.packetCount + 1) >>> 0;
    this.octetCount = (this.octetCount + payloadBytes) >>> 0;
    this.#lastTs = ts >>> 0;
    this.#lastAtMs = atMs;
  }

  get hasSent(): boolean {
    return this.#lastAtMs !== undefined;
  }

  /** The RTP timestamp that corresponds to `nowMs` on our media clock (SR "RTP timestamp"). */
  rtpTimestampAt(nowMs: number): number {
    if (this.#lastAtMs === undefined) return 0;
    return (this.#lastTs + Math.round(((nowMs - this.#lastAtMs) * this.#clockRate) / 1000)) >>> 0;
  }
}

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

/**
 * Round-trip time from a report block about our stream (RFC 3550 §6.4.1: A - LSR - DLSR),
 * in ms; undefined when the peer has not seen an SR of ours yet.
 */
export function roundTripMs(block: ReceptionReportFields, arrivalMs: number): number | undefined {
  if (block.lsr === 0) return undefined;
  const a = ntpMiddle32(ntpTimeAt(arrivalMs));
  const rtt = (a - block.lsr - block.dlsr) >>> 0;
  // A value above 2^31 means DLSR/LSR are inconsistent with our clock (a peer bug); ignore it.
  if (rtt > 0x80000000) return undefined;
  return (rtt / 65536) * 1000;
}

/** RFC 3550 §6.2: randomise each interval to 0.5–1.5 × the nominal one, avoiding lock-step. */
export function nextReportDelayMs(nominalMs: number): number {
  return nominalMs * (0.5 + Math.random());
}

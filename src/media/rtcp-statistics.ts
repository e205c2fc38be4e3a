// The statistics behind RTCP reports (RFC 3550 §6.4, Appendix A): sequence tracking (A.1), loss
// (A.3), interarrival jitter (A.8), what we sent, LSR/DLSR and the round trip, the report
// interval. The packets themselves are rtcp-reports.ts.
import { performance } from 'node:perf_hooks';

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

// The RTCP half of a call's RTP session (RFC 3550 §6): what we know about the stream we receive
// (reception statistics, per source SSRC) and send (sender statistics), our SR/RR every
// ~intervalMs (randomized, §6.3.1) and on close with a BYE, and what the peer's reports say about
// the stream we send. No socket here: rtp-session.ts hands datagrams in and sends what comes out.
import { performance } from 'node:perf_hooks';
import { buildRtcpReport, type RtcpReport } from './rtcp-reports.js';
import { nextReportDelayMs, ReceptionStats, roundTripMs, SenderStats } from './rtcp-statistics.js';

/** What the peer's reports say about the stream we send. */
export interface RemoteReceptionReport {
  fractionLost: number;
  cumulativeLost: number;
  jitterMs: number;
  rttMs: number | undefined;
}

export interface RtcpReportingOptions {
  readonly ssrc: number;
  readonly cname: string;
  readonly clockRate: number;
  readonly intervalMs: number;
  /** Sends one compound report; false when there is nowhere to send it yet (not latched). */
  readonly send: (bytes: Buffer) => boolean;
}

export class RtcpReporting {
  readonly #o: RtcpReportingOptions;
  readonly #sender: SenderStats;
  #sentSinceReport = false;
  #reception: ReceptionStats | undefined;
  #outbound: RemoteReceptionReport | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RtcpReportingOptions) {
    this.#o = options;
    this.#sender = new SenderStats(options.clockRate);
    this.#timer = setTimeout(this.#onTimer, nextReportDelayMs(options.intervalMs));
  }

  /** Statistics of what we receive, undefined before the first packet. */
  get reception(): ReceptionStats | undefined {
    return this.#reception;
  }

  get outbound(): RemoteReceptionReport | undefined {
    return this.#outbound;
  }

  rtpSent(clockTs: number, payloadBytes: number, nowMs: number): void {
    this.#sender.onSent(clockTs, payloadBytes, nowMs);
    this.#sentSinceReport = true;
  }

  /** An accepted RTP packet; a new SSRC starts new statistics (A.1). */
  rtpReceived(ssrc: number, seq: number, ts: number, arrivalMs: number, measureJitter: boolean): void {
    if (this.#reception === undefined || this.#reception.ssrc !== ssrc) {
      this.#reception = new ReceptionStats(ssrc, seq, this.#o.clockRate);
    }
    this.#reception.onRtp(seq, ts, arrivalMs, measureJitter);
  }

  /** The peer's reports: an SR about the source we receive, a block about our SSRC. */
  reportsReceived(reports: readonly RtcpReport[], arrivalMs: number): void {
    for (const report of reports) {
      if (report.kind === 'bye') continue;
      if (report.kind === 'sr' && this.#reception?.ssrc === report.ssrc) {
        this.#reception.onSenderReport(report.ntp, arrivalMs);
      }
      const aboutUs = report.reports.find((b) => b.ssrc === this.#o.ssrc);
      if (aboutUs !== undefined) {
        this.#outbound = {
          fractionLost: aboutUs.fractionLost,
          cumulativeLost: aboutUs.totalLost,
          jitterMs: (aboutUs.jitter * 1000) / this.#o.clockRate,
          rttMs: roundTripMs(aboutUs, arrivalMs),
        };
      }
    }
  }

  /** Sends a report now (also done every ~intervalMs); `bye` appends an RTCP BYE. */
  sendReport(bye?: string): boolean {
    const nowMs = performance.now();
    const { bytes } = buildRtcpReport({
      ssrc: this.#o.ssrc,
      cname: this.#o.cname,
      nowMs,
      // RFC 3550 §6.4: SR only if we sent RTP since the previous report.
      ...(this.#sentSinceReport ? { sender: this.#sender } : {}),
      reports: this.#reception === undefined ? [] : [this.#reception.report(nowMs)],
      ...(bye === undefined ? {} : { bye }),
    });
    if (!this.#o.send(bytes)) return false;
    this.#sentSinceReport = false;
    return true;
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #onTimer = (): void => {
    this.#timer = setTimeout(this.#onTimer, nextReportDelayMs(this.#o.intervalMs));
    this.sendReport();
  };
}

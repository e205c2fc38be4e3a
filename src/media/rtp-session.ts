// One call's RTP/RTCP session: two UDP sockets from the port pool, inbound datagrams parsed at
// the edge and handed up as packets, outbound frames paced by the media clock, symmetric-RTP
// latching, RTCP SR/RR every ~5 s and the RTP inactivity timeout.
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { logger as rootLogger, LogOnce, type Logger } from '../observability/logger.js';
import {
  DtmfReceiver,
  telephoneEventPayloadBytes,
  type DtmfDigitEvent,
  type DtmfSendOptions,
} from './dtmf-event.js';
import type { PortPair } from './port-pool.js';
import {
  buildRtcpReport,
  nextReportDelayMs,
  parseRtcpReport,
  ReceptionStats,
  roundTripMs,
  SenderStats,
  type RtcpReport,
} from './rtcp-reports.js';
import {
  parseRtpDatagram,
  rtpDropReasons,
  serializeRtp,
  type InboundRtpPacket,
  type RtpDropReason,
} from './rtp-datagram.js';
import { RtpLatch, type UdpAddress } from './rtp-latch.js';
import { RtpOutboundStream } from './rtp-outbound-stream.js';

export type { InboundRtpPacket, RtpDropReason } from './rtp-datagram.js';
export type { UdpAddress } from './rtp-latch.js';

/** RFC 3389 comfort noise, static PT 13: many peers send it during silence without negotiating it. */
export const comfortNoisePayloadType = 13;

export interface RtpSessionOptions {
  pair: PortPair;
  /** Negotiated audio payload type (0 PCMU, 8 PCMA). */
  payloadType: number;
  /** Negotiated telephone-event payload type (RFC 4733), if any. */
  telephoneEventPayloadType?: number;
  /** Where the SDP says to send (c= address, m= port, a=rtcp port if given). */
  remote?: UdpAddress & { rtcpPort?: number };
  clockRate?: number;
  /** Our packet interval; inbound packets of any ptime are accepted regardless. */
  ptimeMs?: number;
  /** 0 disables. RTP or RTCP from the peer keeps the session alive. */
  rtpTimeoutMs?: number;
  /** Nominal RTCP report interval (RFC 3550 §6.2 minimum is 5 s). */
  rtcpIntervalMs?: number;
  relatchAfterSilenceMs?: number;
  /** Bigger datagrams are dropped: 60 ms of G.711 is 492 bytes, an Ethernet MTU 1500. */
  maxDatagramBytes?: number;
  cname?: string;
  logger?: Logger;
}

export interface RtpSessionEvents {
  audio: [packet: InboundRtpPacket];
  'comfort-noise': [packet: InboundRtpPacket];
  'telephone-event': [packet: InboundRtpPacket];
  dtmf: [digit: DtmfDigitEvent];
  rtcp: [reports: RtcpReport[]];
  /** RTCP BYE from the peer (informational: the SIP BYE ends the call). */
  bye: [ssrcs: number[], reason: string | undefined];
  latched: [remote: UdpAddress, relatched: boolean];
  timeout: [silentMs: number];
}

/** What the peer's reports say about the stream we send. */
export interface RemoteReceptionReport {
  fractionLost: number;
  cumulativeLost: number;
  jitterMs: number;
  rttMs: number | undefined;
}

export interface RtpSessionStats {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  rtcpIn: number;
  rtcpOut: number;
  dropped: Record<RtpDropReason, number>;
  sendErrors: number;
  remote: UdpAddress | undefined;
  latched: boolean;
  relatches: number;
  ssrcChanges: number;
  /** What we receive (RFC 3550 A.3/A.8), undefined before the first packet. */
  inbound:
    | { ssrc: number; expected: number; cumulativeLost: number; fractionLost: number; jitterMs: number }
    | undefined;
  /** What the peer says it receives from us (from its last SR/RR block about our SSRC). */
  outbound: RemoteReceptionReport | undefined;
  dtmfIn: number;
  dtmfOut: number;
}

export class RtpSession extends EventEmitter<RtpSessionEvents> {
  readonly localAddress: string;
  readonly localPort: number;
  readonly localRtcpPort: number;
  /** Our SSRC (random, RFC 3550 §8.1). */
  readonly ssrc: number;
  readonly #out: RtpOutboundStream;
  readonly #pair: PortPair;
  readonly #payloadType: number;
  readonly #telephoneEventPt: number | undefined;
  readonly #accepted: ReadonlySet<number>;
  readonly #clockRate: number;
  readonly #maxDatagramBytes: number;
  readonly #rtcpIntervalMs: number;
  readonly #cname: string;
  readonly #log: Logger;
  readonly #logOnce = new LogOnce();
  readonly #latch: RtpLatch;
  #signalledRtcpPort: number | undefined;
  #rtcpRemote: UdpAddress | undefined;
  readonly #sender: SenderStats;
  #sentSinceReport = false;
  // Inbound
  #reception: ReceptionStats | undefined;
  readonly #dtmfReceiver = new DtmfReceiver();
  #lastInboundMs: number;
  #rtpTimeoutMs: number;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #rtcpTimer: NodeJS.Timeout | undefined;
  #timedOut = false;
  #closed: Promise<void> | undefined;
  readonly #stats = {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    rtcpIn: 0,
    rtcpOut: 0,
    sendErrors: 0,
    ssrcChanges: 0,
    dtmfIn: 0,
  };
  readonly #dropped = Object.fromEntries(rtpDropReasons.map((r) => [r, 0])) as Record<RtpDropReason, number>;
  #outbound: RemoteReceptionReport | undefined;

  constructor(options: RtpSessionOptions) {
    super();
    const { pair } = options;
    if (!Number.isInteger(options.payloadType) || options.payloadType < 0 || options.payloadType > 127) {
      throw new RangeError(`RTP payload type ${options.payloadType} (0..127)`);
    }
    this.#pair = pair;
    this.localAddress = pair.address;
    this.localPort = pair.rtpPort;
    this.localRtcpPort = pair.rtcpPort;
    this.#payloadType = options.payloadType;
    this.#telephoneEventPt = options.telephoneEventPayloadType;
    this.#accepted = new Set(
      [options.payloadType, comfortNoisePayloadType, options.telephoneEventPayloadType].filter(
        (pt): pt is number => pt !== undefined,
      ),
    );
    this.#clockRate = options.clockRate ?? 8000;
    this.#out = new RtpOutboundStream({
      payloadType: options.payloadType,
      telephoneEventPayloadType: options.telephoneEventPayloadType,
      clockRate: this.#clockRate,
      ptimeMs: options.ptimeMs ?? 20,
    });
    this.ssrc = this.#out.ssrc;
    this.#maxDatagramBytes = options.maxDatagramBytes ?? 1500;
    this.#rtcpIntervalMs = options.rtcpIntervalMs ?? 5000;
    this.#rtpTimeoutMs = options.rtpTimeoutMs ?? 0;
    this.#cname = options.cname ?? `grok-sip-${this.ssrc.toString(16)}@${pair.address}`;
    this.#log = (options.logger ?? rootLogger).child({ rtpPort: pair.rtpPort });
    this.#latch = new RtpLatch(
      options.remote && { address: options.remote.address, port: options.remote.port },
      options.relatchAfterSilenceMs === undefined
        ? {}
        : { relatchAfterSilenceMs: options.relatchAfterSilenceMs },
    );
    this.#signalledRtcpPort = options.remote?.rtcpPort;
    this.#sender = new SenderStats(this.#clockRate);
    this.#lastInboundMs = performance.now();
    pair.rtpSocket.on('message', this.#onRtpDatagram);
    pair.rtcpSocket.on('message', this.#onRtcpDatagram);
    pair.rtpSocket.on('error', this.#onSocketError);
    pair.rtcpSocket.on('error', this.#onSocketError);
    this.#armTimeout();
    this.#rtcpTimer = setTimeout(this.#onRtcpTimer, nextReportDelayMs(this.#rtcpIntervalMs));
  }

  /** Where our RTP goes now (latched source, else the SDP address). */
  get remote(): UdpAddress | undefined {
    return this.#latch.destination;
  }

  /** A re-INVITE changed the remote media address: send there, latch afresh. */
  setRemote(remote: (UdpAddress & { rtcpPort?: number }) | undefined): void {
    this.#latch.setSignalled(remote && { address: remote.address, port: remote.port });
    this.#signalledRtcpPort = remote?.rtcpPort;
    this.#rtcpRemote = undefined;
  }

  /** E.g. 0 while the call is on hold and the peer legitimately sends nothing. */
  setRtpTimeoutMs(timeoutMs: number): void {
    this.#rtpTimeoutMs = timeoutMs;
    this.#timedOut = false;
    this.#lastInboundMs = performance.now();
    this.#armTimeout();
  }

  /**
   * Called on every media clock tick with the frame to send, or null when there is nothing to
   * play (see RtpOutboundStream.next: the timestamp keeps following the clock, the first frame
   * after a gap carries the marker). `nowMs` is the tick's time on the performance.now() timeline.
   */
  sendFrame(payload: Buffer | null, nowMs: number): void {
    if (this.#closed !== undefined) return;
    const packet = this.#out.next(payload, nowMs);
    if (packet === undefined) return;
    const to = this.#latch.destination;
    if (to === undefined) return;
    const bytes = serializeRtp(packet);
    this.#stats.packetsOut++;
    this.#stats.bytesOut += bytes.length;
    this.#sender.onSent(packet.clockTs, packet.payload.length, nowMs);
    this.#sentSinceReport = true;
    this.#pair.rtpSocket.send(bytes, to.port, to.address, this.#onSendDone);
  }

  /**
   * Sends `digits` as RFC 4733 events in place of audio on the next ticks (one event per digit,
   * `gapMs` of audio between). Resolves when the last end packet is sent; rejects if no
   * telephone-event was negotiated or a character is not a DTMF digit.
   */
  sendDtmf(digits: string, options: DtmfSendOptions & { gapMs?: number } = {}): Promise<void> {
    return this.#out.queueDtmf(digits, options);
  }

  readonly #onSendDone = (err: Error | null): void => {
    if (err === null) return;
    this.#stats.sendErrors++;
    if (this.#logOnce.first(`send:${(err as NodeJS.ErrnoException).code}`)) {
      this.#log.warn({ err }, 'RTP send failed');
    }
  };

  readonly #onSocketError = (err: Error): void => {
    if (this.#logOnce.first(`socket:${(err as NodeJS.ErrnoException).code}`)) {
      this.#log.warn({ err }, 'RTP socket error');
    }
  };

  #drop(reason: RtpDropReason, from: RemoteInfo, bytes: number): void {
    this.#dropped[reason]++;
    if (this.#logOnce.first(reason)) {
      this.#log.warn({ reason, from: `${from.address}:${from.port}`, bytes }, 'dropped RTP/RTCP datagram');
    }
  }

  readonly #onRtpDatagram = (datagram: Buffer, from: RemoteInfo): void => {
    const arrivalMs = performance.now();
    const parsed = parseRtpDatagram(datagram, arrivalMs, this.#accepted, this.#maxDatagramBytes);
    if (typeof parsed === 'string') return this.#drop(parsed, from, datagram.length);
    const isEvent = parsed.payloadType === this.#telephoneEventPt;
    if (isEvent && parsed.payload.length < telephoneEventPayloadBytes) {
      return this.#drop('bad-payload', from, datagram.length);
    }
    const decision = this.#latch.accept(from, arrivalMs);
    if (decision === 'wrong-source') return this.#drop('wrong-source', from, datagram.length);
    this.#stats.packetsIn++;
    this.#stats.bytesIn += datagram.length;
    this.#lastInboundMs = arrivalMs;
    if (decision !== 'same') {
      this.#log.info({ remote: `${from.address}:${from.port}`, decision }, 'RTP source latched');
      this.emit('latched', { address: from.address, port: from.port }, decision === 'relatched');
    }
    if (this.#reception === undefined || this.#reception.ssrc !== parsed.ssrc) {
      if (this.#reception !== undefined) this.#stats.ssrcChanges++;
      this.#reception = new ReceptionStats(parsed.ssrc, parsed.seq, this.#clockRate);
    }
    this.#reception.onRtp(parsed.seq, parsed.ts, arrivalMs, !isEvent);
    if (isEvent) {
      this.emit('telephone-event', parsed);
      const digit = this.#dtmfReceiver.receive(parsed); // payload length checked above
      if (digit !== undefined) {
        this.#stats.dtmfIn++;
        this.emit('dtmf', digit);
      }
    } else if (parsed.payloadType === comfortNoisePayloadType && parsed.payloadType !== this.#payloadType) {
      this.emit('comfort-noise', parsed);
    } else {
      this.emit('audio', parsed);
    }
  };

  readonly #onRtcpDatagram = (datagram: Buffer, from: RemoteInfo): void => {
    const arrivalMs = performance.now();
    if (datagram.length > this.#maxDatagramBytes) return this.#drop('too-large', from, datagram.length);
    // Same host as the RTP we latched to; its RTCP port may be NATed to anything.
    const latched = this.#latch.latched;
    if (latched !== undefined && latched.address !== from.address) {
      return this.#drop('rtcp-wrong-source', from, datagram.length);
    }
    let reports: RtcpReport[];
    try {
      reports = parseRtcpReport(datagram);
    } catch {
      return this.#drop('bad-rtcp', from, datagram.length);
    }
    this.#stats.rtcpIn++;
    this.#lastInboundMs = arrivalMs;
    this.#rtcpRemote = { address: from.address, port: from.port }; // symmetric RTCP
    for (const report of reports) {
      if (report.kind === 'bye') {
        this.emit('bye', report.ssrcs, report.reason);
        continue;
      }
      if (report.kind === 'sr' && this.#reception?.ssrc === report.ssrc) {
        this.#reception.onSenderReport(report.ntp, arrivalMs);
      }
      const aboutUs = report.reports.find((b) => b.ssrc === this.ssrc);
      if (aboutUs !== undefined) {
        this.#outbound = {
          fractionLost: aboutUs.fractionLost,
          cumulativeLost: aboutUs.totalLost,
          jitterMs: (aboutUs.jitter * 1000) / this.#clockRate,
          rttMs: roundTripMs(aboutUs, arrivalMs),
        };
      }
    }
    this.emit('rtcp', reports);
  };

  #armTimeout(): void {
    if (this.#timeoutTimer !== undefined) clearTimeout(this.#timeoutTimer);
    this.#timeoutTimer = undefined;
    if (this.#rtpTimeoutMs <= 0 || this.#timedOut || this.#closed !== undefined) return;
    const waitMs = Math.max(1, this.#lastInboundMs + this.#rtpTimeoutMs - performance.now());
    this.#timeoutTimer = setTimeout(this.#onTimeoutTimer, Math.ceil(waitMs));
  }

  // One timer per session re-armed from the last packet's time: no per-packet timer work.
  readonly #onTimeoutTimer = (): void => {
    this.#timeoutTimer = undefined;
    const silentMs = performance.now() - this.#lastInboundMs;
    if (silentMs >= this.#rtpTimeoutMs) {
      this.#timedOut = true;
      this.#log.info({ silentMs: Math.round(silentMs) }, 'RTP timeout');
      this.emit('timeout', silentMs);
      return;
    }
    this.#armTimeout();
  };

  readonly #onRtcpTimer = (): void => {
    this.#rtcpTimer = setTimeout(this.#onRtcpTimer, nextReportDelayMs(this.#rtcpIntervalMs));
    this.sendRtcpReport();
  };

  /** Sends a report now (also done every ~rtcpIntervalMs); `bye` appends an RTCP BYE. */
  sendRtcpReport(bye?: string): void {
    const to = this.#rtcpDestination();
    if (to === undefined) return;
    const nowMs = performance.now();
    const { bytes } = buildRtcpReport({
      ssrc: this.ssrc,
      cname: this.#cname,
      nowMs,
      // RFC 3550 §6.4: SR only if we sent RTP since the previous report.
      ...(this.#sentSinceReport ? { sender: this.#sender } : {}),
      reports: this.#reception === undefined ? [] : [this.#reception.report(nowMs)],
      ...(bye === undefined ? {} : { bye }),
    });
    this.#sentSinceReport = false;
    this.#stats.rtcpOut++;
    this.#pair.rtcpSocket.send(bytes, to.port, to.address, this.#onSendDone);
  }

  #rtcpDestination(): UdpAddress | undefined {
    if (this.#rtcpRemote !== undefined) return this.#rtcpRemote;
    const rtp = this.#latch.destination;
    if (rtp === undefined) return undefined;
    // RFC 3605 a=rtcp if signalled and not latched; else RTP port + 1 (RFC 3550 §11).
    const port = this.#latch.latched === undefined ? (this.#signalledRtcpPort ?? rtp.port + 1) : rtp.port + 1;
    return { address: rtp.address, port };
  }

  get stats(): RtpSessionStats {
    const r = this.#reception;
    return {
      ...this.#stats,
      dtmfOut: this.#out.dtmfSent,
      dropped: { ...this.#dropped },
      remote: this.#latch.destination,
      latched: this.#latch.latched !== undefined,
      relatches: this.#latch.relatches,
      inbound:
        r === undefined
          ? undefined
          : {
              ssrc: r.ssrc,
              expected: r.expected,
              cumulativeLost: r.cumulativeLost,
              fractionLost: r.lastFractionLost,
              jitterMs: r.jitterMs,
            },
      outbound: this.#outbound,
    };
  }

  /** Sends RTCP BYE (RFC 3550 §6.6), stops the timers, closes both sockets, frees the ports. */
  close(reason = ''): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    try {
      this.sendRtcpReport(reason);
    } catch (err) {
      this.#log.warn({ err }, 'RTCP BYE not sent');
    }
    if (this.#timeoutTimer !== undefined) clearTimeout(this.#timeoutTimer);
    if (this.#rtcpTimer !== undefined) clearTimeout(this.#rtcpTimer);
    this.#timeoutTimer = undefined;
    this.#rtcpTimer = undefined;
    this.#out.cancelDtmf();
    this.#pair.rtpSocket.off('message', this.#onRtpDatagram);
    this.#pair.rtcpSocket.off('message', this.#onRtcpDatagram);
    // Give the BYE's send a turn of the loop before the socket closes.
    this.#closed = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#pair.close());
    return this.#closed;
  }
}

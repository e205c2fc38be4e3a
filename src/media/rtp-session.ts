// One call's RTP/RTCP session: two UDP sockets from the port pool, inbound datagrams parsed at
// the edge and handed up as packets, outbound frames paced by the media clock, symmetric-RTP
// latching and the RTP inactivity timeout; RTCP statistics and reports in rtcp-reporting.ts.
//
// Every datagram is handled inside the input boundary (observability/rejected-input.ts): an
// exception anywhere in parsing it or in what the listeners do with it is a counted drop of kind
// 'rtp', never an exception out of the socket's 'message' event (which would end the process and
// every call in it). Each refused datagram is counted in this session's stats by reason and in
// grok_sip_rejected_input_total{kind="rtp"}; the order of the checks is: foreign source (before
// parsing: rtp-latch.ts rule 3), well-formedness (rtp-datagram.ts), then the latch's learning and
// SSRC rules. Probation packets of a source that is still being learned are dropped and counted
// here but are not rejected input: every NATed call starts with a few of them.
//
// SRTP (options.srtp, keys from SDES): every datagram from the right source is unprotected in
// place before it is parsed (a packet that fails its tag or replays is a drop of kind 'rtp', reason
// srtp-*, and never reaches the latch); what we send is protected in the send buffer.
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { logger as rootLogger, LogOnce, type Logger } from '../observability/logger.js';
import { guardInput, reasonOf, rejectedInputs } from '../observability/rejected-input.js';
import { rtpSendErrors } from '../observability/rtp-send-errors.js';
import {
  DtmfReceiver,
  telephoneEventPayloadBytes,
  type DtmfDigitEvent,
  type DtmfSendOptions,
} from './dtmf-event.js';
import type { PortPair } from './port-pool.js';
import { parseRtcpReport, type RtcpReport } from './rtcp-reports.js';
import { RtcpReporting, type RemoteReceptionReport } from './rtcp-reporting.js';
import {
  emptyInboundRtpPacket,
  readRtpDatagram,
  rtpDropReasons,
  type InboundRtpPacket,
  type RtpDropReason,
} from './rtp-datagram.js';
import { RtpLatch, type LatchDecision, type UdpAddress } from './rtp-latch.js';
import { RtpOutboundStream, type RtpOrigin } from './rtp-outbound-stream.js';
import { RtpSendBuffers } from './rtp-send-buffers.js';
import {
  SrtpContext,
  SrtpSession,
  srtpRefusalOf,
  type SrtpKeyParams,
  type SrtpKeys,
} from './srtp-context.js';

export type { InboundRtpPacket, RtpDropReason } from './rtp-datagram.js';
export type { UdpAddress } from './rtp-latch.js';
export type { RemoteReceptionReport } from './rtcp-reporting.js';

/** RFC 3389 comfort noise, static PT 13: many peers send it during silence without negotiating it. */
export const comfortNoisePayloadType = 13;

export interface RtpSessionOptions {
  pair: PortPair;
  /** Negotiated audio payload type (0 PCMU, 8 PCMA). */
  payloadType: number;
  /** Negotiated telephone-event payload type (RFC 4733), if any. */
  telephoneEventPayloadType?: number;
  /**
   * Where the SDP says to send (c= address, m= port, a=rtcp port if given); also the one source
   * that latches at once (rtp-latch.ts). Without it every source has to pass probation.
   */
  remote?: UdpAddress & { rtcpPort?: number };
  clockRate?: number;
  /** Our packet interval; inbound packets of any ptime are accepted regardless. */
  ptimeMs?: number;
  /** 0 disables. RTP or RTCP from the peer keeps the session alive. */
  rtpTimeoutMs?: number;
  /** Nominal RTCP report interval (RFC 3550 §6.2 minimum is 5 s). */
  rtcpIntervalMs?: number;
  /** Bigger datagrams are dropped: 60 ms of G.711 is 492 bytes, an Ethernet MTU 1500. */
  maxDatagramBytes?: number;
  cname?: string;
  logger?: Logger;
  /** Pins our random SSRC, sequence and timestamp origins (tests). */
  origin?: RtpOrigin;
  /** SRTP keys (RTP/SAVP): ours protects what we send, the peer's what it sends. */
  srtp?: SrtpKeys;
}

/**
 * The packet handed to 'audio', 'comfort-noise' and 'telephone-event' is the session's one
 * record, rewritten by the next datagram, and its payload is a view into the datagram: a
 * listener that keeps either past its call copies it (the native jitter buffer copies the payload).
 */
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
  /** Latches after the first: a re-INVITE moved the media, or the SDP address took over. */
  relatches: number;
  /** SSRC changes of the latched source accepted after probation (rtp-latch.ts rule 5). */
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
  readonly #log: Logger;
  readonly #logOnce = new LogOnce();
  readonly #latch: RtpLatch;
  #lastSourceAddress = '';
  #lastSource = '';
  readonly #rtcp: RtcpReporting;
  // Inbound
  readonly #dtmfReceiver = new DtmfReceiver();
  readonly #inbound = emptyInboundRtpPacket();
  readonly #sendBuffers: RtpSendBuffers;
  readonly #srtpOut: SrtpContext | undefined;
  #srtpIn: SrtpContext | undefined;
  #srtpRemoteKey: SrtpKeyParams | undefined;
  #lastInboundMs: number;
  #rtpTimeoutMs: number;
  #timeoutTimer: NodeJS.Timeout | undefined;
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
    const ptimeMs = options.ptimeMs ?? 20;
    this.#out = new RtpOutboundStream({
      payloadType: options.payloadType,
      telephoneEventPayloadType: options.telephoneEventPayloadType,
      clockRate: this.#clockRate,
      ptimeMs,
      origin: options.origin,
    });
    const srtp = options.srtp === undefined ? undefined : new SrtpSession(options.srtp);
    this.#srtpOut = srtp?.outbound;
    this.#srtpIn = srtp?.inbound;
    this.#srtpRemoteKey = options.srtp?.remote;
    // G.711: one byte per sample, so a ptime of payload is clockRate × ptime bytes.
    this.#sendBuffers = new RtpSendBuffers(
      12 + (this.#clockRate * ptimeMs) / 1000,
      this.#onSendDone,
      this.#srtpOut,
    );
    this.ssrc = this.#out.ssrc;
    this.#maxDatagramBytes = options.maxDatagramBytes ?? 1500;
    this.#rtpTimeoutMs = options.rtpTimeoutMs ?? 0;
    this.#log = (options.logger ?? rootLogger).child({ rtpPort: pair.rtpPort });
    this.#latch = new RtpLatch(options.remote);
    this.#rtcp = new RtcpReporting({
      ssrc: this.ssrc,
      cname: options.cname ?? `grok-sip-${this.ssrc.toString(16)}@${pair.address}`,
      clockRate: this.#clockRate,
      intervalMs: options.rtcpIntervalMs ?? 5000,
      send: (bytes) => {
        const to = this.#latch.rtcpDestination;
        if (to === undefined) return false;
        const wire = this.#protectRtcp(bytes);
        if (wire === undefined) return false;
        this.#stats.rtcpOut++;
        pair.rtcpSocket.send(wire, to.port, to.address, this.#onSendDone);
        return true;
      },
    });
    this.#lastInboundMs = performance.now();
    pair.rtpSocket.on('message', this.#onRtpDatagram);
    pair.rtcpSocket.on('message', this.#onRtcpDatagram);
    pair.rtpSocket.on('error', this.#onSocketError);
    pair.rtcpSocket.on('error', this.#onSocketError);
    this.#armTimeout();
  }

  /** Where our RTP goes now (latched source, else the SDP address). */
  get remote(): UdpAddress | undefined {
    return this.#latch.destination;
  }

  /**
   * The remote media address of a re-INVITE: a new one is where we send and learn afresh; the
   * same one keeps the latch; undefined (c=0.0.0.0) stops our sending (rtp-latch.ts rule 4).
   */
  setRemote(remote: (UdpAddress & { rtcpPort?: number }) | undefined): void {
    this.#latch.setSignalled(remote);
  }

  /**
   * The peer's SRTP key of a re-INVITE's offer: a new key gets a new inbound context (RFC 4568
   * §7.1.4: the offerer may re-key); the same one keeps the rollover counter and replay window.
   */
  setSrtpRemoteKey(key: SrtpKeyParams): void {
    const current = this.#srtpRemoteKey;
    if (this.#srtpIn === undefined || current === undefined) return;
    const same =
      current.suite === key.suite &&
      Buffer.compare(current.keySalt, key.keySalt) === 0 &&
      current.lifetime === key.lifetime &&
      Buffer.compare(current.mki ?? Buffer.alloc(0), key.mki ?? Buffer.alloc(0)) === 0;
    if (same) return;
    this.#srtpIn = new SrtpContext(key);
    this.#srtpRemoteKey = key;
    this.#log.info({ suite: key.suite }, 'SRTP: the peer changed its key');
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
    const bytes = this.#sendBuffers.send(this.#pair.rtpSocket, packet, to.port, to.address);
    if (bytes < 0) return this.#srtpRefusedOut(bytes);
    this.#stats.packetsOut++;
    this.#stats.bytesOut += bytes;
    this.#rtcp.rtpSent(packet.clockTs, packet.payload.length, nowMs);
  }

  /** Outbound packet buffers made so far (rtp-send-buffers.ts): the largest burst in flight. */
  get sendBuffers(): number {
    return this.#sendBuffers.allocated;
  }

  /**
   * Sends `digits` as RFC 4733 events in place of audio on the next ticks (one event per digit,
   * `gapMs` of audio between). Resolves when the last end packet is sent; rejects if no
   * telephone-event was negotiated or a character is not a DTMF digit.
   */
  sendDtmf(digits: string, options: DtmfSendOptions & { gapMs?: number } = {}): Promise<void> {
    return this.#out.queueDtmf(digits, options);
  }

  /** Our compound RTCP report, protected (SRTCP) when the call uses SRTP; undefined when refused. */
  #protectRtcp(bytes: Buffer): Buffer | undefined {
    if (this.#srtpOut === undefined) return bytes;
    const wire = Buffer.allocUnsafe(bytes.length + this.#srtpOut.rtcpTrailerBytes);
    bytes.copy(wire);
    const n = this.#srtpOut.protectRtcp(wire, bytes.length);
    if (n < 0) {
      this.#srtpRefusedOut(n);
      return undefined;
    }
    return wire.subarray(0, n);
  }

  /** Protect refused (our key's lifetime is used up): nothing is sent, said once. */
  #srtpRefusedOut(status: number): void {
    const reason = srtpRefusalOf(status);
    if (this.#logOnce.first(`srtp-out:${reason}`)) this.#log.warn({ reason }, 'SRTP: not sending');
  }

  readonly #onSendDone = (err: Error | null): void => {
    if (err === null) return;
    this.#stats.sendErrors++;
    rtpSendErrors.record();
    if (this.#logOnce.first(`send:${(err as NodeJS.ErrnoException).code}`)) {
      this.#log.warn({ err }, 'RTP send failed');
    }
  };

  readonly #onSocketError = (err: Error): void => {
    if (this.#logOnce.first(`socket:${(err as NodeJS.ErrnoException).code}`)) {
      this.#log.warn({ err }, 'RTP socket error');
    }
  };

  #drop(reason: RtpDropReason, from: RemoteInfo): void {
    this.#dropped[reason]++;
    if (reason !== 'latch-probation') rejectedInputs.reject('rtp', this.#sourceOf(from), reason);
  }

  /** `udp:address`, as the SIP edge names a source: one log line per host and reason, not per port. */
  #sourceOf(from: RemoteInfo): string {
    if (from.address !== this.#lastSourceAddress) {
      this.#lastSourceAddress = from.address;
      this.#lastSource = `udp:${from.address}`;
    }
    return this.#lastSource;
  }

  readonly #onRtpDatagram = (datagram: Buffer, from: RemoteInfo): void => {
    // guardInput's boundary written out: its closure per datagram was ~100 of the ~340 bytes a
    // datagram still allocated here once the header was read by hand (issue 16).
    try {
      this.#handleRtp(datagram, from);
    } catch (err) {
      rejectedInputs.reject('rtp', this.#sourceOf(from), reasonOf(err), err);
    }
  };

  readonly #onRtcpDatagram = (datagram: Buffer, from: RemoteInfo): void => {
    guardInput('rtp', this.#sourceOf(from), () => this.#handleRtcp(datagram, from));
  };

  #handleRtp(datagram: Buffer, from: RemoteInfo): void {
    if (this.#latch.isForeign(from)) return this.#drop('foreign-source', from);
    const wireBytes = datagram.length;
    if (this.#srtpIn !== undefined) {
      if (datagram.length > this.#maxDatagramBytes) return this.#drop('too-large', from);
      const n = this.#srtpIn.unprotectRtp(datagram, datagram.length);
      if (n < 0) return this.#drop(srtpRefusalOf(n) as RtpDropReason, from);
      datagram = datagram.subarray(0, n);
    }
    const arrivalMs = performance.now();
    const parsed = this.#inbound;
    const refused = readRtpDatagram(datagram, arrivalMs, this.#accepted, this.#maxDatagramBytes, parsed);
    if (refused !== undefined) return this.#drop(refused, from);
    const isEvent = parsed.payloadType === this.#telephoneEventPt;
    if (isEvent && parsed.payload.length < telephoneEventPayloadBytes) return this.#drop('bad-payload', from);
    const decision = this.#latch.accept(from, parsed.ssrc, parsed.seq);
    if (decision !== 'same' && this.#onLatchDecision(decision, from)) return;
    this.#stats.packetsIn++;
    this.#stats.bytesIn += wireBytes;
    this.#lastInboundMs = arrivalMs;
    this.#rtcp.rtpReceived(parsed.ssrc, parsed.seq, parsed.ts, arrivalMs, !isEvent);
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
  }

  /** Acts on what the latch decided about a packet; true when the packet is dropped. */
  #onLatchDecision(decision: Exclude<LatchDecision, 'same'>, from: RemoteInfo): boolean {
    switch (decision) {
      case 'foreign-source':
      case 'latch-probation':
      case 'ssrc-probation':
        this.#drop(decision, from);
        return true;
      case 'new-ssrc':
        this.#stats.ssrcChanges++;
        if (this.#logOnce.first('new-ssrc'))
          this.#log.info({ ssrc: this.#latch.ssrc }, 'RTP source changed SSRC');
        return false;
      case 'latched': {
        const relatched = this.#latch.latches > 1;
        this.#log.info({ remote: `${from.address}:${from.port}`, relatched }, 'RTP source latched');
        this.emit('latched', { address: from.address, port: from.port }, relatched);
        return false;
      }
    }
  }

  #handleRtcp(datagram: Buffer, from: RemoteInfo): void {
    const arrivalMs = performance.now();
    if (datagram.length > this.#maxDatagramBytes) return this.#drop('too-large', from);
    if (!this.#latch.isRtcpSource(from)) return this.#drop('rtcp-foreign-source', from);
    if (this.#srtpIn !== undefined) {
      const n = this.#srtpIn.unprotectRtcp(datagram, datagram.length);
      if (n < 0) return this.#drop(srtpRefusalOf(n) as RtpDropReason, from);
      datagram = datagram.subarray(0, n);
    }
    let reports: RtcpReport[];
    try {
      reports = parseRtcpReport(datagram);
    } catch {
      return this.#drop('bad-rtcp', from);
    }
    this.#latch.latchRtcp(from);
    this.#stats.rtcpIn++;
    this.#lastInboundMs = arrivalMs;
    this.#rtcp.reportsReceived(reports, arrivalMs);
    for (const report of reports) if (report.kind === 'bye') this.emit('bye', report.ssrcs, report.reason);
    this.emit('rtcp', reports);
  }

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

  /** Sends an RTCP report now (also done every ~rtcpIntervalMs); `bye` appends an RTCP BYE. */
  sendRtcpReport(bye?: string): void {
    this.#rtcp.sendReport(bye);
  }

  get stats(): RtpSessionStats {
    const r = this.#rtcp.reception;
    return {
      ...this.#stats,
      dtmfOut: this.#out.dtmfSent,
      dropped: { ...this.#dropped },
      remote: this.#latch.destination,
      latched: this.#latch.latched !== undefined,
      relatches: Math.max(0, this.#latch.latches - 1),
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
      outbound: this.#rtcp.outbound,
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
    this.#rtcp.stop();
    this.#timeoutTimer = undefined;
    this.#out.cancelDtmf();
    this.#pair.rtpSocket.off('message', this.#onRtpDatagram);
    this.#pair.rtcpSocket.off('message', this.#onRtcpDatagram);
    // Give the BYE's send a turn of the loop before the socket closes.
    this.#closed = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#pair.close());
    return this.#closed;
  }
}

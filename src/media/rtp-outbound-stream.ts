// The RTP stream we send: SSRC, sequence numbers, timestamps that follow the media clock, the
// talkspurt marker, and RFC 4733 events taking the place of audio while a digit is sent.
// Pure state, no socket: the session serializes and sends what `next()` returns, a record this
// stream reuses for every packet (no object per packet on the media tick).
import { randomInt } from 'node:crypto';
import type { RtpFields } from './rtp-datagram.js';
import { dtmfEventPackets, type DtmfOutPacket, type DtmfSendOptions } from './dtmf-event.js';

export interface OutboundRtpFields extends RtpFields {
  /** The media clock's timestamp for this tick (differs from `ts` inside a DTMF event). */
  clockTs: number;
}

export interface RtpOrigin {
  ssrc?: number;
  seq?: number;
  ts?: number;
}

interface PendingDtmf {
  packets: DtmfOutPacket[];
  gapTicks: number;
  resolve: () => void;
}

export class RtpOutboundStream {
  /** Random SSRC, sequence and timestamp origins (RFC 3550 §5.1, §8.1). */
  readonly ssrc: number;
  #seq: number;
  readonly #tsBase: number;
  readonly #payloadType: number;
  readonly #telephoneEventPt: number | undefined;
  readonly #ptimeMs: number;
  readonly #samplesPerFrame: number;
  #firstFrameMs: number | undefined;
  #lastClockTs: number | undefined;
  #talkspurt = false; // true while frames flow without a gap; the first one after a gap gets M
  readonly #dtmfQueue: PendingDtmf[] = [];
  #dtmfTs: number | undefined;
  #dtmfSent = 0;
  readonly #packetFields: OutboundRtpFields;

  constructor(options: {
    payloadType: number;
    telephoneEventPayloadType?: number | undefined;
    clockRate: number;
    ptimeMs: number;
    /** Pins the random origins (tests: sequence and timestamp wraparound); `seq` is the one before the first. */
    origin?: RtpOrigin | undefined;
  }) {
    this.ssrc = options.origin?.ssrc ?? randomInt(0x100000000 - 1) >>> 0;
    this.#seq = options.origin?.seq ?? randomInt(0x10000);
    this.#tsBase = options.origin?.ts ?? randomInt(0x100000000 - 1) >>> 0;
    this.#payloadType = options.payloadType;
    this.#telephoneEventPt = options.telephoneEventPayloadType;
    this.#ptimeMs = options.ptimeMs;
    this.#samplesPerFrame = (options.clockRate * options.ptimeMs) / 1000;
    this.#packetFields = {
      payloadType: this.#payloadType,
      seq: 0,
      ts: 0,
      ssrc: this.ssrc,
      marker: false,
      payload: Buffer.alloc(0),
      clockTs: 0,
    };
  }

  /** Digits whose last end packet went out. */
  get dtmfSent(): number {
    return this.#dtmfSent;
  }

  /**
   * The packet for this media tick, or undefined when there is nothing to send (silence: the
   * timestamp still advances with the clock, and the next frame carries the marker bit,
   * RFC 3551 §4.1). A queued DTMF event takes the tick's slot. The record returned is this
   * stream's, rewritten by the next call.
   */
  next(payload: Buffer | null, nowMs: number): Readonly<OutboundRtpFields> | undefined {
    this.#firstFrameMs ??= nowMs;
    // The timestamp follows the media clock, not the count of packets sent, so a pause in the
    // agent's audio advances it by the pause (RFC 3550 §5.1: sampling instant).
    const frames = Math.round((nowMs - this.#firstFrameMs) / this.#ptimeMs);
    let ts = (this.#tsBase + frames * this.#samplesPerFrame) >>> 0;
    if (this.#lastClockTs !== undefined && ((ts - this.#lastClockTs) | 0) <= 0) {
      ts = (this.#lastClockTs + this.#samplesPerFrame) >>> 0; // called twice in one tick
    }
    const event = this.#nextDtmfPacket(ts);
    if (event !== undefined) return event;
    if (payload === null) {
      this.#talkspurt = false;
      return undefined;
    }
    const marker = !this.#talkspurt;
    this.#talkspurt = true;
    return this.#packet(this.#payloadType, ts, ts, marker, payload);
  }

  /**
   * Queues RFC 4733 events for `digits` (one event per digit, one packet per tick, `gapMs` of
   * normal audio between digits). Resolves when the last end packet was handed out; rejects if
   * no telephone-event payload type was negotiated or a character is not a DTMF digit.
   */
  queueDtmf(digits: string, options: DtmfSendOptions & { gapMs?: number } = {}): Promise<void> {
    if (this.#telephoneEventPt === undefined) {
      return Promise.reject(new Error('telephone-event was not negotiated for this call'));
    }
    let perDigit: DtmfOutPacket[][];
    try {
      perDigit = [...digits].map((d) => dtmfEventPackets(d, { ptimeMs: this.#ptimeMs, ...options }));
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const gapTicks = Math.max(1, Math.round((options.gapMs ?? 60) / this.#ptimeMs));
    const done = perDigit.map(
      (packets) => new Promise<void>((resolve) => this.#dtmfQueue.push({ packets, gapTicks, resolve })),
    );
    return Promise.all(done).then(() => undefined);
  }

  /** Drops queued digits (the call ended); their promises resolve. */
  cancelDtmf(): void {
    for (const pending of this.#dtmfQueue.splice(0)) pending.resolve();
  }

  #nextDtmfPacket(ts: number): Readonly<OutboundRtpFields> | undefined {
    const current = this.#dtmfQueue[0];
    if (current === undefined) return undefined;
    const packet = current.packets.shift();
    if (packet !== undefined) {
      // Every packet of an event carries the event's start timestamp (RFC 4733 §2.5.1.1).
      const eventTs = (this.#dtmfTs ??= ts);
      if (current.packets.length === 0) {
        this.#dtmfSent++;
        this.#dtmfTs = undefined;
        this.#talkspurt = false; // audio after an event starts a new talkspurt
      }
      return this.#packet(this.#telephoneEventPt!, eventTs, ts, packet.marker, packet.payload);
    }
    if (--current.gapTicks <= 0) {
      this.#dtmfQueue.shift();
      current.resolve();
    }
    return undefined;
  }

  #packet(
    payloadType: number,
    ts: number,
    clockTs: number,
    marker: boolean,
    payload: Buffer,
  ): Readonly<OutboundRtpFields> {
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#lastClockTs = clockTs;
    const fields = this.#packetFields;
    fields.payloadType = payloadType;
    fields.seq = this.#seq;
    fields.ts = ts;
    fields.marker = marker;
    fields.payload = payload;
    fields.clockTs = clockTs;
    return fields;
  }
}

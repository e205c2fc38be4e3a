// DTMF as RTP telephone-events (RFC 4733): the 4-byte payload, a receiver that turns the
// packet stream into one digit per key press, and a sender that turns a digit into the
// packet sequence of one event.

/** DTMF digits in RFC 4733 §3.2 event-code order: events 0–15. */
export type DtmfDigit =
  '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

const digitsByEvent: readonly DtmfDigit[] = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  '*',
  '#',
  'A',
  'B',
  'C',
  'D',
];

/** RFC 4733 §2.3: the payload is exactly 4 bytes per event (no redundancy, RFC 2198, here). */
export const telephoneEventPayloadBytes = 4;

/**
 * One telephone-event payload (RFC 4733 §2.3).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * `volume` is the power level in -dBm0 (0..63, larger is quieter); `durationTs` is in RTP
 * timestamp units since the event's timestamp (8 kHz clock for telephone-event/8000).
 */
export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  durationTs: number;
}

export function eventToDigit(event: number): DtmfDigit | undefined {
  return digitsByEvent[event];
}

export function digitToEvent(digit: string): number {
  const event = digitsByEvent.indexOf(digit.toUpperCase() as DtmfDigit);
  if (digit.length !== 1 || event < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return event;
}

export function isDtmfDigit(value: string): value is DtmfDigit {
  return value.length === 1 && digitsByEvent.includes(value as DtmfDigit);
}

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent {
  // A redundant (RFC 2198) or multi-event payload is longer; we read the first event, which is
  // what a 4-byte-per-event sender puts there. Shorter than 4 bytes is unusable.
  if (payload.length < telephoneEventPayloadBytes) {
    throw new RangeError(`telephone-event payload of ${payload.length} bytes (needs 4)`);
  }
  const flags = payload[1]!;
  return {
    event: payload[0]!,
    end: (flags & 0x80) !== 0,
    volume: flags & 0x3f,
    durationTs: (payload[2]! << 8) | payload[3]!,
  };
}

export function serializeTelephoneEvent(ev: TelephoneEvent): Buffer {
  if (!Number.isInteger(ev.event) || ev.event < 0 || ev.event > 255) {
    throw new RangeError(`telephone-event code ${ev.event} (0..255)`);
  }
  if (!Number.isInteger(ev.volume) || ev.volume < 0 || ev.volume > 63) {
    throw new RangeError(`telephone-event volume ${ev.volume} (0..63 -dBm0)`);
  }
  if (!Number.isInteger(ev.durationTs) || ev.durationTs < 0 || ev.durationTs > 0xffff) {
    throw new RangeError(`telephone-event duration ${ev.durationTs} (0..65535 timestamp units)`);
  }
  const b = Buffer.alloc(telephoneEventPayloadBytes);
  b[0] = ev.event;
  b[1] = (ev.end ? 0x80 : 0) | ev.volume;
  b.writeUInt16BE(ev.durationTs, 2);
  return b;
}

/** What the receiver reports once per key press. */
export interface DtmfDigitEvent {
  digit: DtmfDigit;
  /** RTP timestamp of the event (its start, shared by all its packets). */
  ts: number;
  volume: number;
}

/** The RTP fields the receiver needs from a telephone-event packet. */
export interface TelephoneEventPacket {
  ts: number;
  marker: boolean;
  payload: Uint8Array;
}

/**
 * Turns telephone-event packets into one digit per key press.
 *
 * RFC 4733 §2.5.2: every packet of one event carries the event's start timestamp, so the
 * timestamp identifies the event. The digit is reported on the first packet seen for a new
 * timestamp (start, update or end, whichever survived the network): reporting on the end packet
 * would lose the whole press when its three end packets are lost, and adds the press duration
 * to the latency the caller hears before the agent reacts.
 * Retransmitted end packets (SIPp sends its three with the same sequence number) and late
 * updates carry an already-seen timestamp and are ignored.
 */
export class DtmfReceiver {
  // Recently seen event timestamps: reordered packets of an earlier event must not re-report it.
  readonly #recentTs: number[] = [];
  #open: { ts: number; event: number; ended: boolean } | undefined;
  #ignoredNonDigit = 0;

  /** Events 16+ (flash, tones) seen and not reported. */
  get ignoredNonDigit(): number {
    return this.#ignoredNonDigit;
  }

  /** Returns the digit for a new key press, else undefined. Throws RangeError on a short payload. */
  receive(packet: TelephoneEventPacket): DtmfDigitEvent | undefined {
    const ev = parseTelephoneEvent(packet.payload);
    const ts = packet.ts >>> 0;
    if (this.#recentTs.includes(ts)) {
      if (this.#open?.ts === ts && ev.end) this.#open.ended = true;
      return undefined;
    }
    // RFC 4733 §2.5.1.3: an event longer than 0xFFFF timestamp units continues as a new segment
    // with a new timestamp (old ts + its duration) and no marker bit; it is the same key press.
    const open = this.#open;
    // A segment starts where a full-length (~0xFFFF) one ended; anything closer is a new press
    // whose start (marker) packet was lost.
    const sinceOpenTs = open === undefined ? 0 : (ts - open.ts) >>> 0;
    const isSegment =
      open !== undefined &&
      !open.ended &&
      !packet.marker &&
      open.event === ev.event &&
      sinceOpenTs >= 0xf000 &&
      sinceOpenTs <= 0xffff;
    this.#remember(ts);
    this.#open = { ts, event: ev.event, ended: ev.end };
    if (isSegment) return undefined;
    const digit = eventToDigit(ev.event);
    if (digit === undefined) {
      this.#ignoredNonDigit++;
      return undefined;
    }
    return { digit, ts, volume: ev.volume };
  }

  #remember(ts: number): void {
    this.#recentTs.push(ts);
    if (this.#recentTs.length > 16) this.#recentTs.shift();
  }
}

export interface DtmfSendOptions {
  /** Tone duration; RFC 4733 leaves it to the sender, 40 ms is the shortest ITU Q.24 accepts. */
  durationMs?: number;
  /** -dBm0, RFC 4733 §2.3.4; 10 is what SIPp and Asterisk send. */
  volume?: number;
  /** Update interval = our packet interval. */
  ptimeMs?: number;
  /** telephone-event clock rate (8000 for telephone-event/8000). */
  clockRate?: number;
}

/** One packet of an outgoing event, in send order; all share the event's RTP timestamp. */
export interface DtmfOutPacket {
  marker: boolean;
  end: boolean;
  payload: Buffer;
}

/**
 * The packet sequence for one key press (RFC 4733 §2.5.1): the first packet with the marker bit,
 * an update every `ptimeMs` with the duration so far, and the final packet (E bit, full
 * duration) sent three times at the update interval (§2.5.1.4) so one lost packet does not cut
 * the tone's duration short. The caller sends one packet per media tick, each with its own
 * sequence number.
 */
export function dtmfEventPackets(digit: string, options: DtmfSendOptions = {}): DtmfOutPacket[] {
  const event = digitToEvent(digit);
  const durationMs = options.durationMs ?? 100;
  const volume = options.volume ?? 10;
  const ptimeMs = options.ptimeMs ?? 20;
  const clockRate = options.clockRate ?? 8000;
  if (!Number.isFinite(durationMs) || durationMs < 40 || durationMs > 5000) {
    throw new RangeError(`DTMF duration ${durationMs} ms (40..5000)`);
  }
  if (!Number.isInteger(ptimeMs) || ptimeMs < 10 || ptimeMs > 60) {
    throw new RangeError(`DTMF ptime ${ptimeMs} ms (10..60)`);
  }
  const stepTs = (ptimeMs * clockRate) / 1000;
  const totalTs = Math.round((durationMs * clockRate) / 1000);
  // A single event is capped at 0xFFFF units (8.19 s at 8 kHz); 5000 ms stays below it.
  const packets: DtmfOutPacket[] = [];
  for (let d = stepTs; d < totalTs; d += stepTs) {
    packets.push({
      marker: packets.length === 0,
      end: false,
      payload: serializeTelephoneEvent({ event, end: false, volume, durationTs: d }),
    });
  }
  for (let i = 0; i < 3; i++) {
    packets.push({
      marker: packets.length === 0,
      end: true,
      payload: serializeTelephoneEvent({ event, end: true, volume, durationTs: totalTs }),
    });
  }
  return packets;
}

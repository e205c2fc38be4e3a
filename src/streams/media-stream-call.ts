// What a carrier media stream gives the call core: a call that arrived as a WebSocket (Twilio
// Media Streams, Vonage Voice WebSocket) instead of an INVITE. The ingress (twilio/, vonage/)
// turns its wire protocol into this; src/call/stream-leg.ts turns this into a CallLeg, so from
// routing down the call is the same as a SIP call.
import type { EventEmitter } from 'node:events';
import type { AudioFormat } from '../audio/audio-format.js';
import type { DtmfDigit } from '../media/dtmf-event.js';

export type StreamProvider = 'twilio' | 'vonage';

/** Caller audio of one stream message, in the stream's own sequence and sample clock. */
export interface StreamAudio {
  readonly seq: number;
  /** Sample clock (samples since the stream started). */
  readonly ts: number;
  readonly payload: Buffer;
  /** performance.now() at arrival. */
  readonly arrivalMs: number;
}

/**
 * How a stream ended. `stop`: the carrier ended it (caller hung up, or the call moved on);
 * `closed`: the socket went away without a stop; `protocol-error`: it broke its protocol (bad
 * JSON, wrong order, wrong frame size, flood), already logged once with the reason.
 */
export type StreamEnd = 'stop' | 'closed' | 'protocol-error';

export interface MediaStreamEvents {
  audio: [StreamAudio];
  dtmf: [DtmfDigit];
  ended: [StreamEnd];
}

export interface StreamTransferOutcome {
  readonly accepted: boolean;
  /** HTTP status of the carrier's API, or 501 where the ingress cannot transfer. */
  readonly status: number;
  readonly reason: string;
}

export interface MediaStreamCall {
  readonly provider: StreamProvider;
  /** The carrier's call id (Twilio CallSid, Vonage call uuid). */
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  /** The agent profile name the answer webhook chose (a stream parameter/header); '' if none. */
  readonly agent: string;
  /** Remote address of the WebSocket (the carrier, or the reverse proxy in front of us). */
  readonly sourceAddress: string;
  /** μ-law for Twilio, PCM16 at 16 (or 8) kHz for Vonage: what 'audio' carries and sendMedia takes. */
  readonly format: AudioFormat;
  readonly events: EventEmitter<MediaStreamEvents>;
  /** One 20 ms frame of agent audio. */
  sendMedia(frame: Buffer): void;
  /** No agent audio this tick: a talk spurt ended (the stream may place a playback marker). */
  idle(): void;
  /** Agent audio sent but not yet played by the carrier, per its marks / notify events (ms). */
  readonly unheardMs: number;
  /** Barge-in: the carrier drops the audio it buffered. */
  clear(): void;
  /** Ends the stream from our side (the carrier's call script goes on: TwiML, NCCO). */
  close(): void;
  /** Moves the call to `target` through the carrier's REST API. */
  transfer(target: string): Promise<StreamTransferOutcome>;
  /** Plays DTMF digits into the call through the carrier's REST API; rejects where it cannot. */
  sendDtmf(digits: string): Promise<void>;
  readonly framesIn: number;
  readonly framesOut: number;
}

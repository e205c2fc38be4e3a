// The far end of a connected call, whatever carries it: RTP with a SIP dialog (sip-leg.ts), or a
// carrier media stream over a WebSocket (stream-leg.ts: Twilio Media Streams, Vonage). The
// conversation (connected-call.ts) runs against this and nothing else, so greeting, barge-in,
// DTMF, tools, transcripts, recordings and the CDR are the same code for every ingress.
import type { EventEmitter } from 'node:events';
import type { AudioFormat } from '../audio/audio-format.js';
import type { DtmfDigit } from '../media/dtmf-event.js';
import type { CallEndReason } from '../observability/call-detail-record.js';
import type { ReferOutcome } from '../signaling/signaling-backend.js';
import type { AgentFrameSink } from './agent-to-caller.js';

/** Caller audio in the leg's format, placed in the leg's sequence/timestamp space. */
export interface CallerAudioPacket {
  readonly seq: number;
  /** Sample clock of the leg (RTP timestamp units). */
  readonly ts: number;
  readonly ssrc: number;
  readonly payload: Buffer;
  /** performance.now() at arrival. */
  readonly arrivalMs: number;
}

export interface CallLegEvents {
  audio: [CallerAudioPacket];
  /** A sequence number used by something that is not audio (RFC 4733 event, comfort noise). */
  'non-audio': [CallerAudioPacket];
  dtmf: [DtmfDigit];
  /** The caller does not (true) or again does (false) want our audio: hold and resume. */
  muted: [boolean];
  /** The leg asks to end the call from our side (RTP timeout, a stream that broke its protocol). */
  'hangup-wanted': [CallEndReason];
  /** The far end is gone (BYE, stream stop, socket closed): nothing more to send. */
  ended: [CallEndReason];
}

export interface CallLegStats {
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** RFC 3550 §6.4.1 interarrival jitter (RTP); 0 where the carrier does not tell. */
  readonly jitterMs: number;
}

export interface CallLeg extends AgentFrameSink {
  /** G.711 on RTP and Twilio, PCM16 on Vonage: what sendFrame takes and 'audio' carries. */
  readonly format: AudioFormat;
  readonly events: EventEmitter<CallLegEvents>;
  /**
   * Agent audio sent but not yet heard, in ms: what the far end still buffers (Twilio marks,
   * Vonage notify). 0 on RTP, where what leaves is what plays.
   */
  readonly unheardMs: number;
  /** Barge-in: the far end drops the agent audio it buffered (Twilio/Vonage `clear`). */
  clearPlayout(): void;
  /** End the call from our side; resolves when the far end is told. */
  hangup(): Promise<void>;
  /** Blind transfer (SIP REFER, Twilio call update). */
  transfer(target: string): Promise<ReferOutcome>;
  sendDtmf(digits: string): Promise<void>;
  stats(): CallLegStats;
  /** Frees sockets and timers; after 'ended' or hangup(). */
  close(): Promise<void>;
}

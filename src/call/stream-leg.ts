// A carrier media stream (Twilio Media Streams, Vonage WebSocket) as the call's leg: its audio
// messages are the caller's audio, its DTMF events the caller's digits; our frames go out as its
// media messages; barge-in clears the carrier's buffer; hang-up closes the stream (the carrier's
// TwiML/NCCO goes on); transfer goes through the carrier's REST API.
import { EventEmitter } from 'node:events';
import type { AudioFormat } from '../audio/audio-format.js';
import type { CallEndReason } from '../observability/call-detail-record.js';
import type { ReferOutcome } from '../signaling/signaling-backend.js';
import type { MediaStreamCall, StreamEnd } from '../streams/media-stream-call.js';
import type { CallLeg, CallLegEvents, CallLegStats } from './call-leg.js';

const endReasons: Record<StreamEnd, CallEndReason> = {
  stop: 'remote-bye',
  closed: 'transport-error',
  'protocol-error': 'stream-error',
};

/** One SSRC per stream: the jitter buffer keys its sequence space on it. */
const streamSsrc = 1;

export class StreamLeg implements CallLeg {
  readonly format: AudioFormat;
  readonly events = new EventEmitter<CallLegEvents>();
  readonly #stream: MediaStreamCall;

  constructor(stream: MediaStreamCall) {
    this.#stream = stream;
    this.format = stream.format;
    stream.events.on('audio', (a) => this.events.emit('audio', { ...a, ssrc: streamSsrc }));
    stream.events.on('dtmf', (digit) => this.events.emit('dtmf', digit));
    stream.events.on('ended', (how) => this.events.emit('ended', endReasons[how]));
  }

  sendFrame(payload: Buffer | null): void {
    if (payload === null) this.#stream.idle();
    else this.#stream.sendMedia(payload);
  }

  get unheardMs(): number {
    return this.#stream.unheardMs;
  }

  clearPlayout(): void {
    this.#stream.clear();
  }

  hangup(): Promise<void> {
    this.#stream.close();
    return Promise.resolve();
  }

  async transfer(target: string): Promise<ReferOutcome> {
    const outcome = await this.#stream.transfer(target);
    return { accepted: outcome.accepted, status: outcome.status, reason: outcome.reason };
  }

  sendDtmf(digits: string): Promise<void> {
    return this.#stream.sendDtmf(digits);
  }

  stats(): CallLegStats {
    return { packetsIn: this.#stream.framesIn, packetsOut: this.#stream.framesOut, jitterMs: 0 };
  }

  close(): Promise<void> {
    this.#stream.close();
    return Promise.resolve();
  }
}

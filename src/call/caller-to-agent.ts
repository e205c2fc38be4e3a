// Caller → agent, top to bottom: RTP packet → jitter buffer + loss concealment (native; also
// transcodes when the API format is not the call codec) → one 20 ms frame per media clock tick →
// input_audio_buffer.append on the realtime socket.
import type { AudioFormat, CallCodec } from '../audio/audio-format.js';
import { InboundAudio, type InboundAudioStats, type JitterDelayOptions } from '../media/inbound-audio.js';
import type { InboundRtpPacket } from '../media/rtp-session.js';

const noPayload = Buffer.alloc(0);

export interface CallerToAgentOptions {
  readonly codec: CallCodec;
  readonly apiFormat: AudioFormat;
  readonly jitter: JitterDelayOptions;
  /** The realtime session's appendAudio. */
  readonly sendToAgent: (frame: Buffer) => void;
  /** Sees every frame handed to the agent (recording). */
  readonly onFrame?: (frame: Buffer) => void;
}

export class CallerToAgent {
  readonly #jitterBuffer: InboundAudio;
  readonly #sendToAgent: (frame: Buffer) => void;
  readonly #onFrame: ((frame: Buffer) => void) | undefined;

  constructor(options: CallerToAgentOptions) {
    this.#jitterBuffer = new InboundAudio(options.codec, options.apiFormat, options.jitter);
    this.#sendToAgent = options.sendToAgent;
    this.#onFrame = options.onFrame;
  }

  onAudioPacket(packet: InboundRtpPacket): void {
    this.#jitterBuffer.push(packet.seq, packet.ts, packet.ssrc, packet.payload, packet.arrivalMs);
  }

  /**
   * telephone-event and comfort noise share the audio's sequence space (RFC 4733 §2.1): marking
   * their sequence numbers used keeps them from being counted as lost and concealed.
   */
  onNonAudioPacket(packet: InboundRtpPacket): void {
    this.#jitterBuffer.push(packet.seq, packet.ts, packet.ssrc, noPayload, packet.arrivalMs);
  }

  /** Called once per media clock tick. */
  tick(nowMs: number): void {
    const frame = this.#jitterBuffer.pull(nowMs);
    if (frame === undefined) return;
    this.#sendToAgent(frame);
    this.#onFrame?.(frame);
  }

  stats(): InboundAudioStats {
    return this.#jitterBuffer.stats();
  }
}

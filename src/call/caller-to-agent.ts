// Caller → agent, top to bottom: caller audio from the leg (an RTP packet, or a Twilio media
// message with its chunk number and timestamp) → jitter buffer + loss concealment (native; also
// transcodes when the API format is not the call codec; a PCM16 leg such as a Vonage stream has a
// plain FIFO instead, resampled when the API rate differs) → one 20 ms frame per media clock tick → input_audio_buffer.append on the
// realtime socket.
import { legCodec, type AudioFormat } from '../audio/audio-format.js';
import { InboundAudio, type InboundAudioStats, type JitterDelayOptions } from '../media/inbound-audio.js';
import { PcmInboundFrames } from '../media/pcm-inbound-frames.js';
import type { CallerAudioPacket } from './call-leg.js';

const noPayload = Buffer.alloc(0);

export interface CallerToAgentOptions {
  /** The leg's audio: G.711 (RTP, Twilio) or PCM16 in the API format itself (Vonage). */
  readonly legFormat: AudioFormat;
  readonly apiFormat: AudioFormat;
  readonly jitter: JitterDelayOptions;
  /** The realtime session's appendAudio. */
  readonly sendToAgent: (frame: Buffer) => void;
  /** Sees every frame handed to the agent (recording). */
  readonly onFrame?: (frame: Buffer) => void;
}

export class CallerToAgent {
  readonly #jitterBuffer: InboundAudio | PcmInboundFrames;
  readonly #sendToAgent: (frame: Buffer) => void;
  readonly #onFrame: ((frame: Buffer) => void) | undefined;

  constructor(options: CallerToAgentOptions) {
    const codec = legCodec(options.legFormat);
    this.#jitterBuffer =
      codec !== null
        ? new InboundAudio(codec, options.apiFormat, options.jitter)
        : new PcmInboundFrames(options.legFormat, { ...options.jitter, apiFormat: options.apiFormat });
    this.#sendToAgent = options.sendToAgent;
    this.#onFrame = options.onFrame;
  }

  onAudioPacket(packet: CallerAudioPacket): void {
    this.#jitterBuffer.push(packet.seq, packet.ts, packet.ssrc, packet.payload, packet.arrivalMs);
  }

  /**
   * telephone-event and comfort noise share the audio's sequence space (RFC 4733 §2.1): marking
   * their sequence numbers used keeps them from being counted as lost and concealed.
   */
  onNonAudioPacket(packet: CallerAudioPacket): void {
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

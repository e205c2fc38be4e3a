// Agent → caller, top to bottom: response.output_audio.delta → playout queue (native: converts
// once to the call codec, 20 ms frames, absorbs the agent's faster-than-real-time bursts; a PCM16
// leg such as a Vonage stream only cuts frames, resampled when the API rate differs) → one frame per media clock tick → the leg (RTP,
// or a media message on the stream). Barge-in empties the queue here, within the tick.
import { durationMs, legCodec, type AudioFormat } from '../audio/audio-format.js';
import { OutboundAudio, type OutboundAudioStats } from '../media/outbound-audio.js';
import { PcmPlayoutQueue } from '../media/pcm-playout-queue.js';
import type { RealtimeAudioEvent } from '../realtime/index.js';
import { AgentPlayback, type InterruptedItem } from './agent-playback.js';

/**
 * 2 minutes of agent speech: far more than any turn; past it the oldest audio is dropped and counted.
 * A cap, not an allocation: the native ring starts at 2 s and grows only while an answer outruns playout.
 */
const maxQueueMs = 120_000;

export interface AgentFrameSink {
  /** The tick's frame (leg format, 20 ms), or null: nothing to send this tick. */
  sendFrame(payload: Buffer | null, nowMs: number): void;
}

export interface AgentToCallerOptions {
  readonly apiFormat: AudioFormat;
  /** The leg's audio: G.711 (RTP, Twilio) or PCM16 in the API format itself (Vonage). */
  readonly legFormat: AudioFormat;
  readonly sink: AgentFrameSink;
  /** Sees every frame that leaves (recording, first-audio and turn timing). */
  readonly onFrameSent?: (payload: Buffer, nowMs: number) => void;
}

export class AgentToCaller {
  readonly #queue: OutboundAudio | PcmPlayoutQueue;
  readonly #playback = new AgentPlayback();
  readonly #apiFormat: AudioFormat;
  readonly #sink: AgentFrameSink;
  readonly #onFrameSent: ((payload: Buffer, nowMs: number) => void) | undefined;
  /** Frames played instead of the agent (fallback prompt), already in the call codec. */
  #prompt: Buffer[] = [];
  #muted = false;
  /** The response whose audio is queued now, and responses whose later deltas must not play. */
  #playingResponseId: string | null = null;
  readonly #finishedResponses = new Set<string>();
  /** Deltas of a cancelled (barge-in) or finished response that arrived anyway: dropped, counted. */
  staleDeltas = 0;

  constructor(options: AgentToCallerOptions) {
    this.#apiFormat = options.apiFormat;
    const codec = legCodec(options.legFormat);
    this.#queue =
      codec !== null
        ? new OutboundAudio(options.apiFormat, codec, { maxQueueMs })
        : new PcmPlayoutQueue(options.legFormat, { maxQueueMs, apiFormat: options.apiFormat });
    this.#sink = options.sink;
    this.#onFrameSent = options.onFrameSent;
  }

  onAgentAudio(event: RealtimeAudioEvent): void {
    if (this.#prompt.length > 0) return;
    // A slow server keeps streaming a response after our response.cancel (and a late delta may
    // trail response.done): the caller who barged in must not hear the rest of it.
    if (event.responseId !== '' && this.#finishedResponses.has(event.responseId)) {
      this.staleDeltas++;
      return;
    }
    this.#playingResponseId = event.responseId;
    this.#queue.push(event.chunk);
    this.#playback.queued(event.itemId, durationMs(this.#apiFormat, event.chunk.length));
  }

  /** End of a response: its last partial frame is padded with silence so that it plays. */
  onResponseDone(responseId?: string): void {
    if (responseId !== undefined) this.#finish(responseId);
    this.#queue.flush();
  }

  #finish(responseId: string): void {
    if (responseId === '') return;
    this.#finishedResponses.add(responseId);
    // Bounded: the few most recent responses are all a late delta can belong to.
    if (this.#finishedResponses.size > 64)
      this.#finishedResponses.delete(this.#finishedResponses.values().next().value!);
  }

  /** Called once per media clock tick. */
  tick(nowMs: number): void {
    const payload = this.#prompt.shift() ?? this.#nextAgentFrame();
    if (payload === undefined || this.#muted) {
      this.#sink.sendFrame(null, nowMs);
      return;
    }
    this.#sink.sendFrame(payload, nowMs);
    this.#onFrameSent?.(payload, nowMs);
  }

  #nextAgentFrame(): Buffer | undefined {
    const payload = this.#queue.pull();
    // On hold the queue still drains: the agent's words are not saved up for the resume.
    if (payload !== undefined) this.#playback.played();
    return payload;
  }

  /** Barge-in: drop everything queued now; the item the caller was hearing and how much of it played. */
  bargeIn(): { droppedMs: number; interrupted: InterruptedItem | null } {
    if (this.#playingResponseId !== null) this.#finish(this.#playingResponseId);
    const droppedMs = this.#queue.clear();
    return { droppedMs, interrupted: this.#playback.interrupt() };
  }

  /** Hold (RFC 3264 §8.4 sendonly/inactive offer from the peer): send no audio. */
  setMuted(muted: boolean): void {
    this.#muted = muted;
  }

  /** Replaces the agent with a fixed prompt (fallback tone); returns its duration in ms. */
  playPrompt(frames: readonly Buffer[]): number {
    this.#queue.clear();
    this.#playback.interrupt();
    this.#prompt = [...frames];
    return frames.length * 20;
  }

  /** Agent audio (or prompt) still waiting to be sent, in ms. */
  get pendingMs(): number {
    return this.#queue.queuedMs + this.#prompt.length * 20;
  }

  stats(): OutboundAudioStats {
    return this.#queue.stats();
  }
}

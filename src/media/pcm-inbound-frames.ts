// Caller -> agent audio of a PCM16 leg (a Vonage WebSocket stream): frames arrive whole and in
// order over TCP, so there is nothing to reorder or conceal; what is left of a jitter buffer is a
// FIFO the media clock pulls one 20 ms frame a tick from, which absorbs a burst (frames held up
// behind a TCP retransmission arrive together) and, past maxDelayMs, drops the oldest audio so
// the agent never falls behind the caller. The shape of InboundAudio, so caller-to-agent.ts reads
// the same for every leg.
import { bytesPerMs, type AudioFormat } from '../audio/audio-format.js';
import type { InboundAudioStats } from './inbound-audio.js';

const frameMs = 20;

export class PcmInboundFrames {
  readonly frameBytes: number;
  readonly #maxFrames: number;
  readonly #frames: Buffer[] = [];
  #received = 0;
  #dropped = 0;

  /** @throws RangeError unless `format` is PCM16. */
  constructor(format: AudioFormat, options: { maxDelayMs: number }) {
    if (format.encoding !== 'pcm') throw new RangeError('PcmInboundFrames: the leg format must be PCM16');
    this.frameBytes = bytesPerMs(format) * frameMs;
    this.#maxFrames = Math.max(1, Math.ceil(options.maxDelayMs / frameMs));
  }

  /** One frame of exactly frameBytes (the ingress refuses other sizes); seq/ts are ignored. */
  push(_seq: number, _ts: number, _ssrc: number, payload: Buffer): 'accepted' | 'invalid' {
    if (payload.length !== this.frameBytes) return 'invalid';
    this.#received++;
    this.#frames.push(payload);
    if (this.#frames.length > this.#maxFrames) {
      this.#frames.shift();
      this.#dropped++;
    }
    return 'accepted';
  }

  pull(_nowMs: number): Buffer | undefined {
    return this.#frames.shift();
  }

  stats(): InboundAudioStats {
    return {
      received: this.#received,
      late: 0,
      lost: 0,
      duplicates: 0,
      concealed: 0,
      resyncs: 0,
      inserted: 0,
      // 10 ms units, as the native jitter buffer counts them.
      dropped: this.#dropped * 2,
      skipped: 0,
      forcedDrops: this.#dropped * 2,
      currentDelayMs: this.#frames.length * frameMs,
      targetDelayMs: 0,
      jitterMs: 0,
      meanAddedDelayMs: 0,
    };
  }
}

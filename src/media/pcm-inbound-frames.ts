// Caller -> agent audio of a PCM16 leg (a Vonage WebSocket stream): frames arrive whole and in
// order over TCP, so there is nothing to reorder or conceal; what is left of a jitter buffer is a
// FIFO the media clock pulls one 20 ms frame a tick from, which absorbs a burst (frames held up
// behind a TCP retransmission arrive together) and, past maxDelayMs, drops the oldest audio so
// the agent never falls behind the caller. When the agent's PCM rate is not the leg's (a profile
// asking pcm16/pcm24 of an 8 kHz stream), each frame goes through the native resampler on its way
// out. The shape of InboundAudio, so caller-to-agent.ts reads the same for every leg.
import { bytesPerMs, sampleRateOf, type AudioFormat } from '../audio/audio-format.js';
import type { InboundAudioStats } from './inbound-audio.js';
import { Resampler, type ResamplerRate } from './resampler.js';

const frameMs = 20;

export class PcmInboundFrames {
  readonly frameBytes: number;
  readonly #maxFrames: number;
  readonly #frames: Buffer[] = [];
  readonly #resampler: Resampler | null;
  #received = 0;
  #dropped = 0;

  /**
   * @param apiFormat what pull() returns: PCM16 at the leg's rate (default) or another rate.
   * @throws RangeError unless both formats are PCM16 at rates the resampler converts between.
   */
  constructor(format: AudioFormat, options: { maxDelayMs: number; apiFormat?: AudioFormat }) {
    if (format.encoding !== 'pcm') throw new RangeError('PcmInboundFrames: the leg format must be PCM16');
    const api = options.apiFormat ?? format;
    if (api.encoding !== 'pcm') throw new RangeError('PcmInboundFrames: the API format must be PCM16');
    this.frameBytes = bytesPerMs(format) * frameMs;
    this.#maxFrames = Math.max(1, Math.ceil(options.maxDelayMs / frameMs));
    const [legRate, apiRate] = [sampleRateOf(format), sampleRateOf(api)];
    this.#resampler =
      legRate === apiRate ? null : new Resampler(legRate as ResamplerRate, apiRate as ResamplerRate);
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
    const frame = this.#frames.shift();
    if (frame === undefined || this.#resampler === null) return frame;
    const converted = this.#resampler.process(frame);
    return converted.length > 0 ? converted : undefined;
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

// Agent -> caller audio of a PCM16 leg (a Vonage WebSocket stream: L16 at the agent's own rate):
// no codec to convert to, so none of the native core's work applies; the agent's deltas (any
// length, a sample may straddle two) are cut into exact 20 ms frames here, the shape of
// OutboundAudio (push / pull / flush / clear) so agent-to-caller.ts reads the same for every leg.
// When the agent speaks PCM at another rate than the leg (a profile asking pcm16/pcm24 of an 8 kHz
// stream), the native resampler converts each delta on push. Only Buffer slicing and one copy per
// frame here: no per-sample loop in TypeScript.
import { bytesPerMs, sampleRateOf, type AudioFormat } from '../audio/audio-format.js';
import type { OutboundAudioStats } from './outbound-audio.js';
import { Resampler, type ResamplerRate } from './resampler.js';

const frameMs = 20;

export class PcmPlayoutQueue {
  readonly frameBytes: number;
  readonly #maxQueueBytes: number;
  readonly #bytesPerMs: number;
  readonly #chunks: Buffer[] = [];
  readonly #resampler: Resampler | null;
  /** A delta that ended mid-sample leaves its odd byte here for the next (resampling only). */
  #oddByte: Buffer | null = null;
  #queuedBytes = 0;
  /** Between the first push of a response and its flush(): a dry pull then is an underrun. */
  #inResponse = false;
  readonly #stats: OutboundAudioStats = {
    pushedMs: 0,
    paddedMs: 0,
    playedMs: 0,
    droppedMs: 0,
    overflowDroppedMs: 0,
    underruns: 0,
  };

  /**
   * @param options.apiFormat what push() takes: PCM16 at the leg's rate (default) or another rate.
   * @throws RangeError unless both are PCM16 at rates the resampler converts between.
   */
  constructor(format: AudioFormat, options: { maxQueueMs?: number; apiFormat?: AudioFormat } = {}) {
    if (format.encoding !== 'pcm') throw new RangeError('PcmPlayoutQueue: the leg format must be PCM16');
    const api = options.apiFormat ?? format;
    if (api.encoding !== 'pcm') throw new RangeError('PcmPlayoutQueue: the API format must be PCM16');
    const [legRate, apiRate] = [sampleRateOf(format), sampleRateOf(api)];
    this.#resampler =
      legRate === apiRate ? null : new Resampler(apiRate as ResamplerRate, legRate as ResamplerRate);
    this.#bytesPerMs = bytesPerMs(format);
    this.frameBytes = this.#bytesPerMs * frameMs;
    if (!Number.isInteger(this.frameBytes)) throw new RangeError(`PcmPlayoutQueue: ${format.sampleRate} Hz`);
    this.#maxQueueBytes = this.#bytesPerMs * (options.maxQueueMs ?? 10000);
  }

  push(audio: Uint8Array): void {
    let chunk = Buffer.isBuffer(audio) ? audio : Buffer.from(audio.buffer, audio.byteOffset, audio.length);
    if (this.#resampler !== null) chunk = this.#resample(chunk);
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#stats.pushedMs += chunk.length / this.#bytesPerMs;
    this.#inResponse = true;
    while (this.#queuedBytes > this.#maxQueueBytes) {
      const dropped = this.#take(Math.min(this.frameBytes, this.#queuedBytes - this.#maxQueueBytes));
      this.#stats.overflowDroppedMs += dropped.length / this.#bytesPerMs;
    }
  }

  /** One 20 ms frame, or undefined when less than that is queued. */
  pull(): Buffer | undefined {
    if (this.#queuedBytes < this.frameBytes) {
      if (this.#inResponse) this.#stats.underruns++;
      return undefined;
    }
    this.#stats.playedMs += frameMs;
    return this.#take(this.frameBytes);
  }

  /** End of a response: the tail is completed with silence so its last partial frame plays. */
  flush(): void {
    this.#inResponse = false;
    const partial = this.#queuedBytes % this.frameBytes;
    if (partial === 0) return;
    const pad = this.frameBytes - partial;
    this.#chunks.push(Buffer.alloc(pad));
    this.#queuedBytes += pad;
    this.#stats.paddedMs += pad / this.#bytesPerMs;
  }

  /** Barge-in: drops everything queued; returns the ms dropped. */
  clear(): number {
    const ms = this.#queuedBytes / this.#bytesPerMs;
    this.#chunks.length = 0;
    this.#queuedBytes = 0;
    this.#inResponse = false;
    this.#stats.droppedMs += ms;
    // The next answer is a new signal: no filter history from the one cut off.
    this.#resampler?.reset();
    this.#oddByte = null;
    return ms;
  }

  #resample(delta: Buffer): Buffer {
    let whole = this.#oddByte === null ? delta : Buffer.concat([this.#oddByte, delta]);
    this.#oddByte = null;
    if (whole.length % 2 === 1) {
      this.#oddByte = Buffer.from(whole.subarray(whole.length - 1));
      whole = whole.subarray(0, whole.length - 1);
    }
    return whole.length === 0 ? whole : this.#resampler!.process(whole);
  }

  get queuedMs(): number {
    return this.#queuedBytes / this.#bytesPerMs;
  }

  stats(): OutboundAudioStats {
    return { ...this.#stats };
  }

  /** The first `bytes` queued bytes, as one Buffer (a view when one chunk holds them all). */
  #take(bytes: number): Buffer {
    this.#queuedBytes -= bytes;
    const head = this.#chunks[0]!;
    if (head.length >= bytes) {
      if (head.length === bytes) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(bytes);
      return head.subarray(0, bytes);
    }
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    while (at < bytes) {
      const chunk = this.#chunks[0]!;
      const n = Math.min(chunk.length, bytes - at);
      chunk.copy(out, at, 0, n);
      at += n;
      if (n === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(n);
    }
    return out;
  }
}

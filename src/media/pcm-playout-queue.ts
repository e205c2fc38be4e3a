// Agent -> caller audio of a PCM16 leg (a Vonage WebSocket stream: L16 at the agent's own rate):
// no codec to convert to, so none of the native core's work applies; the agent's deltas (any
// length, a sample may straddle two) are cut into exact 20 ms frames here, the shape of
// OutboundAudio (push / pull / flush / clear) so agent-to-caller.ts reads the same for every leg.
// Only Buffer slicing and one copy per frame: no per-sample loop in TypeScript.
import { bytesPerMs, type AudioFormat } from '../audio/audio-format.js';
import type { OutboundAudioStats } from './outbound-audio.js';

const frameMs = 20;

export class PcmPlayoutQueue {
  readonly frameBytes: number;
  readonly #maxQueueBytes: number;
  readonly #bytesPerMs: number;
  readonly #chunks: Buffer[] = [];
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

  /** @throws RangeError unless `format` is PCM16 at a rate with whole samples per 20 ms. */
  constructor(format: AudioFormat, options: { maxQueueMs?: number } = {}) {
    if (format.encoding !== 'pcm') throw new RangeError('PcmPlayoutQueue: the leg format must be PCM16');
    this.#bytesPerMs = bytesPerMs(format);
    this.frameBytes = this.#bytesPerMs * frameMs;
    if (!Number.isInteger(this.frameBytes)) throw new RangeError(`PcmPlayoutQueue: ${format.sampleRate} Hz`);
    this.#maxQueueBytes = this.#bytesPerMs * (options.maxQueueMs ?? 10000);
  }

  push(audio: Uint8Array): void {
    if (audio.length === 0) return;
    const chunk = Buffer.isBuffer(audio) ? audio : Buffer.from(audio.buffer, audio.byteOffset, audio.length);
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
    return ms;
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

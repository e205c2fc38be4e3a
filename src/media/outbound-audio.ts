// Agent -> caller audio of one call: realtime API output audio is converted once on push (native:
// pass-through, A-law <-> mu-law, or resample to 8 kHz + G.711 encode) into a bounded queue that
// the RTP sender pulls 20 ms at a time. Barge-in clears it; end of a response flushes it.
import { native } from './native-addon.js';
import type { RawOutboundAudio, RawOutboundStats } from './bindings/codec-binding.js';
import { assertCallCodec } from '../audio/audio-format.js';
import { nativeFormatName, assertNativeAudioFormat } from './native-audio-format.js';
import type { AudioFormat, CallCodec } from '../audio/audio-format.js';

/** The stats as the native core reports them (documented in the binding). */
export type OutboundAudioStats = RawOutboundStats;

export interface OutboundAudioOptions {
  /** Queue bound; beyond it the oldest audio is dropped and counted. 20-600000, default 10000. */
  maxQueueMs?: number;
}

export class OutboundAudio {
  readonly #raw: RawOutboundAudio;
  readonly apiFormat: AudioFormat;
  readonly callCodec: CallCodec;

  /** @throws TypeError / RangeError on an unknown format or codec, or a bad maxQueueMs. */
  constructor(apiFormat: AudioFormat, callCodec: CallCodec, options: OutboundAudioOptions = {}) {
    assertNativeAudioFormat(apiFormat);
    assertCallCodec(callCodec);
    this.#raw = new native.OutboundAudio(nativeFormatName(apiFormat), callCodec, options.maxQueueMs ?? 10000);
    this.apiFormat = apiFormat;
    this.callCodec = callCodec;
  }

  /**
   * Agent audio in the API format. PCM16 may split a sample across pushes.
   * @throws TypeError when not a Buffer/Uint8Array.
   */
  push(audio: Uint8Array): void {
    this.#raw.push(audio);
  }

  /** One 160-byte G.711 payload (20 ms), or undefined when less than 20 ms is queued. */
  pull(): Buffer | undefined {
    return this.#raw.pull();
  }

  /** End of a response: the tail is completed with silence so its last partial frame plays. */
  flush(): void {
    this.#raw.flush();
  }

  /** Barge-in: drops everything queued; returns the ms dropped. */
  clear(): number {
    return this.#raw.clear();
  }

  get queuedMs(): number {
    return this.#raw.queuedMs;
  }

  stats(): OutboundAudioStats {
    return this.#raw.stats();
  }
}

// Streaming int16 mono resampler of one direction of one call (native/resampler.cc): polyphase
// Kaiser-windowed sinc, passband flat to 3.4 kHz (7.2 kHz on 16 <-> 24 kHz), stopband >= 108 dB
// by design. Any split of the input into chunks gives the same output bytes as one call.
import { native } from './native-addon.js';
import type { RawResampler } from './bindings/codec-binding.js';

export type ResamplerRate = 8000 | 16000 | 24000 | 48000;

export class Resampler {
  readonly #raw: RawResampler;
  readonly inRate: number;
  readonly outRate: number;
  /** Group delay of the filter in output samples. */
  readonly delaySamples: number;

  /** 8000 <-> 16000 / 24000 / 48000 and 16000 <-> 24000. */
  static supports(inRate: number, outRate: number): boolean {
    return native.resamplerSupported(inRate, outRate);
  }

  /** @throws TypeError / RangeError on a rate pair that is not supported. */
  constructor(inRate: ResamplerRate, outRate: ResamplerRate) {
    this.#raw = new native.Resampler(inRate, outRate);
    this.inRate = inRate;
    this.outRate = outRate;
    this.delaySamples = this.#raw.delaySamples;
  }

  /**
   * PCM16 little-endian in (whole samples), the output it completes out.
   * @throws TypeError when not a Buffer/Uint8Array, RangeError on an odd byte length.
   */
  process(pcm: Uint8Array): Buffer {
    return this.#raw.process(pcm);
  }

  /**
   * The same filter on float samples of any scale, without int16 rounding or saturation (int16-valued
   * input gives process()'s output before rounding). A stream is fed through process() or through
   * processFloat(), not both, until reset().
   * @throws TypeError when not a Float32Array, Error after process() on this stream.
   */
  processFloat(samples: Float32Array): Float32Array {
    return this.#raw.processFloat(samples);
  }

  /** Forgets the filter history (start of an unrelated stream). */
  reset(): void {
    this.#raw.reset();
  }
}

// The local agent's stand-in for server VAD: RMS energy over 10 ms windows, timed in stream
// samples (not wall clock) so a test that appends a known signal gets known event times.
//   speech starts after `minSpeechWindows` voiced windows in a row (a click is not speech);
//   it stops after `silenceDurationMs` of unvoiced windows; the utterance spans from the first
//   voiced window minus `prefixPaddingMs` to the end of the last voiced window.

export interface EnergyVadOptions {
  readonly sampleRate: number;
  /** Window RMS above this is voiced; default -40 dBFS. */
  readonly thresholdDbfs?: number;
  readonly silenceDurationMs?: number;
  readonly prefixPaddingMs?: number;
  readonly minSpeechWindows?: number;
  /** Force a stop so one utterance cannot grow without bound; default 30000. */
  readonly maxUtteranceMs?: number;
}

export type VadEvent =
  /** `startSample` already includes the prefix padding. */
  | { kind: 'speech_started'; startSample: number }
  | { kind: 'speech_stopped'; startSample: number; endSample: number };

export class EnergyVad {
  readonly sampleRate: number;
  readonly #windowSamples: number;
  readonly #thresholdRms: number;
  readonly #silenceWindows: number;
  readonly #prefixSamples: number;
  readonly #minSpeechWindows: number;
  readonly #maxUtteranceSamples: number;
  /** Sum of squares of the current window's samples (exact: < 2^53 for any window we use). */
  #windowSum = 0;
  #windowFill = 0;
  /** Samples consumed so far (start of the current window). */
  #position = 0;
  #voicedRun = 0;
  #firstVoicedSample = 0;
  #speaking = false;
  #utteranceStart = 0;
  #lastVoicedEnd = 0;
  #silentRun = 0;
  /** Utterances never overlap: the next may not start before the previous ended. */
  #floorSample = 0;

  constructor(options: EnergyVadOptions) {
    this.sampleRate = options.sampleRate;
    this.#windowSamples = Math.max(1, Math.round(options.sampleRate / 100));
    this.#thresholdRms = 32768 * 10 ** ((options.thresholdDbfs ?? -40) / 20);
    this.#silenceWindows = Math.max(1, Math.round((options.silenceDurationMs ?? 500) / 10));
    this.#prefixSamples = Math.round(((options.prefixPaddingMs ?? 300) * options.sampleRate) / 1000);
    this.#minSpeechWindows = options.minSpeechWindows ?? 2;
    this.#maxUtteranceSamples = Math.round(((options.maxUtteranceMs ?? 30_000) * options.sampleRate) / 1000);
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** While speaking: the end (sample) of the last voiced window. */
  get voicedUntil(): number {
    return this.#lastVoicedEnd;
  }

  /** Samples consumed since the session started. */
  get position(): number {
    return this.#position + this.#windowFill;
  }

  /**
   * Feeds `samples[0, length)`. Returns the events they caused: usually none, as one shared
   * empty array (this runs 50 times a second per call).
   */
  push(samples: Int16Array, length = samples.length): readonly VadEvent[] {
    let events: VadEvent[] | undefined;
    // Locals, not fields, in the per-sample loop (with the reused decode buffer: 0.96 -> 0.52 µs
    // per 20 ms of 8 kHz μ-law, 25,000 of them a second at 500 calls).
    const windowSamples = this.#windowSamples;
    let sum = this.#windowSum;
    let fill = this.#windowFill;
    for (let i = 0; i < length; i++) {
      const sample = samples[i]!;
      sum += sample * sample;
      if (++fill === windowSamples) {
        events = this.#onWindow(sum, events);
        this.#position += windowSamples;
        fill = 0;
        sum = 0;
      }
    }
    this.#windowSum = sum;
    this.#windowFill = fill;
    return events ?? noEvents;
  }

  #onWindow(sumSquares: number, events: VadEvent[] | undefined): VadEvent[] | undefined {
    const voiced = Math.sqrt(sumSquares / this.#windowSamples) > this.#thresholdRms;
    const windowEnd = this.#position + this.#windowSamples;
    if (!this.#speaking) {
      if (!voiced) {
        this.#voicedRun = 0;
        return events;
      }
      if (this.#voicedRun++ === 0) this.#firstVoicedSample = this.#position;
      if (this.#voicedRun < this.#minSpeechWindows) return events;
      this.#speaking = true;
      this.#silentRun = 0;
      this.#lastVoicedEnd = windowEnd;
      this.#utteranceStart = Math.max(this.#floorSample, this.#firstVoicedSample - this.#prefixSamples, 0);
      return append(events, { kind: 'speech_started', startSample: this.#utteranceStart });
    }
    if (voiced) {
      this.#silentRun = 0;
      this.#lastVoicedEnd = windowEnd;
    } else {
      this.#silentRun++;
    }
    const tooLong = windowEnd - this.#utteranceStart >= this.#maxUtteranceSamples;
    if (this.#silentRun >= this.#silenceWindows || tooLong) {
      const endSample = tooLong ? windowEnd : this.#lastVoicedEnd;
      this.#speaking = false;
      this.#voicedRun = 0;
      this.#floorSample = endSample;
      return append(events, { kind: 'speech_stopped', startSample: this.#utteranceStart, endSample });
    }
    return events;
  }
}

const noEvents: readonly VadEvent[] = Object.freeze([]);

function append(events: VadEvent[] | undefined, event: VadEvent): VadEvent[] {
  if (events === undefined) return [event];
  events.push(event);
  return events;
}

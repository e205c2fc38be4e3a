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
  #window = new Int16Array(0);
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
    this.#window = new Int16Array(this.#windowSamples);
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

  push(samples: Int16Array): VadEvent[] {
    const events: VadEvent[] = [];
    for (let i = 0; i < samples.length; i++) {
      this.#window[this.#windowFill++] = samples[i]!;
      if (this.#windowFill === this.#windowSamples) {
        this.#onWindow(events);
        this.#position += this.#windowSamples;
        this.#windowFill = 0;
      }
    }
    return events;
  }

  #onWindow(events: VadEvent[]): void {
    let sumSquares = 0;
    for (let i = 0; i < this.#windowSamples; i++) sumSquares += this.#window[i]! ** 2;
    const voiced = Math.sqrt(sumSquares / this.#windowSamples) > this.#thresholdRms;
    const windowEnd = this.#position + this.#windowSamples;
    if (!this.#speaking) {
      if (!voiced) {
        this.#voicedRun = 0;
        return;
      }
      if (this.#voicedRun++ === 0) this.#firstVoicedSample = this.#position;
      if (this.#voicedRun < this.#minSpeechWindows) return;
      this.#speaking = true;
      this.#silentRun = 0;
      this.#lastVoicedEnd = windowEnd;
      this.#utteranceStart = Math.max(this.#floorSample, this.#firstVoicedSample - this.#prefixSamples, 0);
      events.push({ kind: 'speech_started', startSample: this.#utteranceStart });
      return;
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
      events.push({ kind: 'speech_stopped', startSample: this.#utteranceStart, endSample });
    }
  }
}

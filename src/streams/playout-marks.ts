// What the caller has heard of the agent's audio on a carrier stream. We number the 20 ms frames
// we send and, every few frames and at the end of each talk spurt, ask the carrier to echo a marker
// once it has played that far (Twilio `mark`, Vonage `notify`); the markers coming back tell
// barge-in how much of what we sent is still unheard. A clear (barge-in) drops the carrier's queue:
// markers it returns for cleared audio (Twilio returns pending marks on clear) are not playback.
const frameMs = 20;

export class PlayoutMarks {
  /** Frames of agent audio sent on the stream. */
  framesOut = 0;
  readonly #everyFrames: number;
  #sinceMark = 0;
  /** Frames played as of the last marker the carrier returned. */
  #heard = 0;
  /** Markers up to this frame were cleared, not played. */
  #clearedUpTo = 0;

  constructor(everyFrames: number) {
    this.#everyFrames = everyFrames;
  }

  /** One frame sent; true when a marker is due now. */
  sent(): boolean {
    this.framesOut++;
    return ++this.#sinceMark >= this.#everyFrames;
  }

  /** Frames went out since the last marker: at the end of a talk spurt one is due. */
  get unmarked(): boolean {
    return this.#sinceMark > 0;
  }

  /** A marker is being sent now: the frame count it names. */
  mark(): number {
    this.#sinceMark = 0;
    return this.framesOut;
  }

  /** A marker came back naming `frames` (any value the carrier sent; ignored unless it is news). */
  played(frames: number): void {
    if (Number.isSafeInteger(frames) && frames > this.#clearedUpTo && frames > this.#heard) {
      this.#heard = Math.min(frames, this.framesOut);
    }
  }

  /** Barge-in cleared the carrier's queue: nothing sent so far will be played. */
  cleared(): void {
    this.#clearedUpTo = this.framesOut;
    this.#heard = this.framesOut;
    this.#sinceMark = 0;
  }

  get unheardMs(): number {
    return (this.framesOut - this.#heard) * frameMs;
  }
}

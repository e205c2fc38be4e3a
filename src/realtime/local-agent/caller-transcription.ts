// The caller's transcript as the local agent reports it. It has no speech recogniser: a turn of
// 1.2 s is transcribed `[caller 1.2 s]`, and while the caller speaks `[caller 0.4 s…]`.
//
// Live (code that talks to Grok; xAI's schema): only a session with `audio.input.transcription`
// gets caller transcripts; partials are `conversation.item.input_audio_transcription.updated`
// with the WHOLE text so far (only with model `grok-transcribe`), then `.completed`; there is no
// `.delta`. `.completed` may first come with `status: "in_progress"` and again after the final one
// (LiveKit's tests): the last one per item without `in_progress` is final.
import type { LiveShape } from './live-shape.js';

const updated = 'conversation.item.input_audio_transcription.updated';
const completed = 'conversation.item.input_audio_transcription.completed';

export function finalCallerText(ms: number): string {
  return `[caller ${(ms / 1000).toFixed(1)} s]`;
}

export function partialCallerText(ms: number): string {
  return `[caller ${(ms / 1000).toFixed(1)} s…]`;
}

export class CallerTranscription {
  readonly #send: (event: Record<string, unknown>) => void;
  readonly #shape: LiveShape;
  /** `audio.input.transcription` of the session, or null (off). */
  #config: Record<string, unknown> | null = null;
  #partialItem = '';
  #partialsSent = 0;
  #lastPartial = '';
  /** The final `.completed` to send again once the answer has started (repeatedCompleted). */
  #repeat: Record<string, unknown> | null = null;

  constructor(send: (event: Record<string, unknown>) => void, shape: LiveShape) {
    this.#send = send;
    this.#shape = shape;
  }

  configure(config: Record<string, unknown> | null): void {
    this.#config = config;
  }

  get enabled(): boolean {
    return this.#config !== null;
  }

  /** Partials (`.updated`) come only with model grok-transcribe (xAI's schema text). */
  get #partials(): boolean {
    return this.#config?.model === 'grok-transcribe';
  }

  /** The caller has spoken `spokenMs` of item `itemId` so far (VAD on). */
  progress(itemId: string, spokenMs: number): void {
    if (!this.#partials) return;
    if (itemId !== this.#partialItem) {
      this.#partialItem = itemId;
      this.#partialsSent = 0;
      this.#lastPartial = '';
    }
    const due = Math.floor(spokenMs / this.#shape.transcriptPartialMs);
    if (due <= this.#partialsSent) return;
    this.#partialsSent = due;
    this.#lastPartial = partialCallerText(due * this.#shape.transcriptPartialMs);
    this.#send({ type: updated, item_id: itemId, content_index: 0, transcript: this.#lastPartial });
  }

  /** The caller's turn `itemId` of `ms` ended: its final transcript (legacy or live). */
  turnEnded(itemId: string, ms: number): void {
    const text = finalCallerText(ms);
    if (!this.enabled) {
      if (this.#shape.callerTranscripts === 'always') {
        this.#send({ type: completed, item_id: itemId, content_index: 0, transcript: text });
      }
      return;
    }
    if (this.#partials && (itemId !== this.#partialItem || this.#lastPartial === '')) {
      // No partial went out while the caller spoke (VAD off: the turn ends with a commit).
      this.#partialItem = itemId;
      this.#lastPartial = partialCallerText(ms);
      this.#send({ type: updated, item_id: itemId, content_index: 0, transcript: this.#lastPartial });
    }
    const final: Record<string, unknown> = {
      type: completed,
      item_id: itemId,
      content_index: 0,
      transcript: text,
    };
    if (this.#shape.repeatedCompleted) {
      const early = this.#lastPartial !== '' ? this.#lastPartial : partialCallerText(ms);
      this.#send({ ...final, transcript: early, status: 'in_progress' });
      final.status = 'completed';
      this.#repeat = final;
    }
    this.#send(final);
    this.#partialItem = '';
    this.#partialsSent = 0;
    this.#lastPartial = '';
  }

  /** The answer to the turn has started (or the turn got none): the repeated final, if due. */
  flushRepeat(): void {
    const repeat = this.#repeat;
    this.#repeat = null;
    if (repeat) this.#send(repeat);
  }
}

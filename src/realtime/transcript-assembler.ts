// Transcripts as the live service sends them, turned into one partial stream and one final line
// per turn (docs/realtime.md; LiveKit's xAI plugin and its tests):
//   caller: no `…input_audio_transcription.delta`; partials are `.updated` with the WHOLE text so
//     far (replace, never append); `.completed` may say `status: "in_progress"` (still a partial)
//     and may come more than once for one item — only the last one without in_progress is final,
//     so a final waits `settleMs` for a correction before it is emitted (or until the next turn
//     starts, or the session ends);
//   agent: `response.output_audio_transcript.delta` (appended here) then `.done` (final at once).
// Partials are always the whole text so far. The finals are also kept, bounded, as the context a
// new session is seeded with when the service ends one mid-call (realtime-session.ts).
import type { RealtimeTranscriptEvent } from './realtime-session-types.js';

/** Long enough for a repeated `.completed` (they come back to back), short for a transcript line. */
const settleMs = 800;
/** Items with a partial in progress at once (a flood of item ids must not grow memory). */
const maxOpenItems = 64;
/** Context kept for a new session: the most recent finals, about this many characters. */
const maxContextChars = 6000;

interface PendingFinal {
  text: string;
  timer: NodeJS.Timeout;
}

export class TranscriptAssembler {
  readonly #emit: (event: RealtimeTranscriptEvent) => void;
  readonly #partials = new Map<string, string>();
  readonly #pendingUser = new Map<string, PendingFinal>();
  readonly #finalized = new Set<string>();
  /** Finals in turn order: `order` is when the item was first seen (a caller's final settles late). */
  readonly #context: { role: 'user' | 'agent'; text: string; order: number }[] = [];
  readonly #firstSeen = new Map<string, number>();
  #seen = 0;
  #contextChars = 0;
  /** `.completed` events for items already final (a late correction): counted, not written twice. */
  lateCorrections = 0;

  constructor(emit: (event: RealtimeTranscriptEvent) => void) {
    this.#emit = emit;
  }

  /** `.updated` (whole text so far) or a `.completed` still in progress. */
  userPartial(itemId: string, wholeText: string): void {
    if (this.#finalized.has(itemId)) return;
    this.#partial('user', itemId, wholeText);
  }

  /** A legacy `…transcription.delta` (not sent by Grok): appended. */
  userDelta(itemId: string, delta: string): void {
    if (this.#finalized.has(itemId)) return;
    this.#partial('user', itemId, (this.#partials.get(itemId) ?? '') + delta);
  }

  /** `.completed` without in_progress: final once no correction follows within settleMs. */
  userCompleted(itemId: string, text: string): void {
    this.#order(itemId);
    if (this.#finalized.has(itemId)) {
      this.lateCorrections++;
      return;
    }
    const pending = this.#pendingUser.get(itemId);
    if (pending !== undefined) clearTimeout(pending.timer);
    const timer = setTimeout(() => this.#finalUser(itemId), settleMs);
    timer.unref();
    this.#pendingUser.set(itemId, { text, timer });
  }

  agentDelta(itemId: string, delta: string): void {
    this.#partial('agent', itemId, (this.#partials.get(itemId) ?? '') + delta);
  }

  agentDone(itemId: string, text: string): void {
    this.#partials.delete(itemId);
    this.#final('agent', itemId, text);
  }

  /** A new caller turn, or the session's end: every caller final still settling is written now. */
  settle(): void {
    for (const itemId of [...this.#pendingUser.keys()]) this.#finalUser(itemId);
  }

  /** The conversation so far, in turn order, for seeding a new session. */
  context(): readonly { role: 'user' | 'agent'; text: string }[] {
    return [...this.#context].sort((a, b) => a.order - b.order).map(({ role, text }) => ({ role, text }));
  }

  #order(itemId: string): number {
    let order = this.#firstSeen.get(itemId);
    if (order === undefined) {
      order = this.#seen++;
      this.#firstSeen.set(itemId, order);
      if (this.#firstSeen.size > 1024) this.#firstSeen.delete(this.#firstSeen.keys().next().value!);
    }
    return order;
  }

  #finalUser(itemId: string): void {
    const pending = this.#pendingUser.get(itemId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.#pendingUser.delete(itemId);
    this.#partials.delete(itemId);
    this.#finalized.add(itemId);
    if (this.#finalized.size > 1024) this.#finalized.delete(this.#finalized.values().next().value!);
    this.#final('user', itemId, pending.text);
  }

  #partial(role: 'user' | 'agent', itemId: string, wholeText: string): void {
    this.#order(itemId);
    this.#partials.delete(itemId);
    this.#partials.set(itemId, wholeText);
    if (this.#partials.size > maxOpenItems) this.#partials.delete(this.#partials.keys().next().value!);
    this.#emit({ role, text: wholeText, final: false, itemId });
  }

  #final(role: 'user' | 'agent', itemId: string, text: string): void {
    this.#emit({ role, text, final: true, itemId });
    const order = this.#order(itemId);
    this.#firstSeen.delete(itemId);
    if (text.trim() === '') return;
    this.#context.push({ role, text, order });
    this.#contextChars += text.length;
    while (this.#contextChars > maxContextChars && this.#context.length > 1) {
      this.#contextChars -= this.#context.shift()!.text.length;
    }
  }
}

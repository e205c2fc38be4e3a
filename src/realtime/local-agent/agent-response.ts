// One response of the local agent, framed like the real service (OpenAI Realtime GA framing,
// which Grok follows): response.created → output_item.added → content → output_item.done →
// response.done. Audio goes out faster than real time in bursts, as Grok's does, so the
// client's playout queue — not the socket — sets the pace.
import { bytesPerMs, bytesPerSample, type AudioFormat } from '../../audio/audio-format.js';

export interface BurstPacing {
  /** Audio per response.output_audio.delta; default 40. */
  readonly deltaMs: number;
  /** Audio sent back to back in one burst; default 400. */
  readonly burstMs: number;
  /** Pause between bursts; default 200 (so 2× real time). 0 = everything at once. */
  readonly burstIntervalMs: number;
}

export const defaultPacing: BurstPacing = { deltaMs: 40, burstMs: 400, burstIntervalMs: 200 };

export type ResponseContent =
  | {
      readonly kind: 'audio';
      readonly audio: Buffer;
      readonly format: AudioFormat;
      readonly transcript: string;
    }
  | {
      readonly kind: 'function_call';
      readonly name: string;
      readonly arguments: string;
      readonly callId: string;
      /** How many times response.function_call_arguments.done is repeated (dedup tests). */
      readonly announceTimes: number;
    };

export interface AgentResponseDeps {
  send(event: Record<string, unknown>): void;
  nextId(prefix: string): string;
  readonly pacing: BurstPacing;
  /** Stop (without response.done) after this many audio bytes and call onStopped. */
  readonly stopAfterBytes?: number;
  onStopped?(): void;
  onFinished(): void;
}

export class AgentResponse {
  readonly id: string;
  readonly itemId: string;
  readonly #deps: AgentResponseDeps;
  readonly #content: ResponseContent;
  #offset = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;

  constructor(deps: AgentResponseDeps, content: ResponseContent) {
    this.#deps = deps;
    this.#content = content;
    this.id = deps.nextId('resp');
    this.itemId = deps.nextId('item');
  }

  get finished(): boolean {
    return this.#finished;
  }

  start(): void {
    const { send } = this.#deps;
    send({
      type: 'response.created',
      response: { id: this.id, object: 'realtime.response', status: 'in_progress', output: [] },
    });
    const content = this.#content;
    if (content.kind === 'function_call') {
      const item = {
        id: this.itemId,
        object: 'realtime.item',
        type: 'function_call',
        call_id: content.callId,
        name: content.name,
      };
      send({
        type: 'response.output_item.added',
        response_id: this.id,
        output_index: 0,
        item: { ...item, arguments: '', status: 'in_progress' },
      });
      const ids = { response_id: this.id, item_id: this.itemId, output_index: 0, call_id: content.callId };
      send({ type: 'response.function_call_arguments.delta', ...ids, delta: content.arguments });
      for (let i = 0; i < Math.max(1, content.announceTimes); i++) {
        send({
          type: 'response.function_call_arguments.done',
          ...ids,
          name: content.name,
          arguments: content.arguments,
        });
      }
      const done = { ...item, arguments: content.arguments, status: 'completed' };
      send({ type: 'response.output_item.done', response_id: this.id, output_index: 0, item: done });
      this.#finish('completed', [done]);
      return;
    }
    const item = { id: this.itemId, object: 'realtime.item', type: 'message', role: 'assistant' };
    send({
      type: 'response.output_item.added',
      response_id: this.id,
      output_index: 0,
      item: { ...item, status: 'in_progress', content: [] },
    });
    send({ type: 'conversation.item.added', item: { ...item, status: 'in_progress', content: [] } });
    send({ type: 'response.content_part.added', ...this.#ids(), part: { type: 'audio', transcript: '' } });
    send({ type: 'response.output_audio_transcript.delta', ...this.#ids(), delta: content.transcript });
    this.#burst();
  }

  /** response.cancel or barge-in: stop where we are; the item stays incomplete. */
  cancel(): void {
    if (this.#finished) return;
    clearTimeout(this.#timer);
    const item = {
      id: this.itemId,
      object: 'realtime.item',
      type: 'message',
      role: 'assistant',
      status: 'incomplete',
    };
    this.#deps.send({ type: 'response.output_item.done', response_id: this.id, output_index: 0, item });
    this.#finish('cancelled', [item]);
  }

  /** The socket is gone: stop timers, send nothing. */
  abandon(): void {
    clearTimeout(this.#timer);
    this.#finished = true;
  }

  #ids(): Record<string, unknown> {
    return { response_id: this.id, item_id: this.itemId, output_index: 0, content_index: 0 };
  }

  #burst(): void {
    const content = this.#content;
    if (this.#finished || content.kind !== 'audio') return;
    const { pacing } = this.#deps;
    const align = bytesPerSample(content.format);
    const deltaBytes = Math.max(
      align,
      Math.round((pacing.deltaMs * bytesPerMs(content.format)) / align) * align,
    );
    const burstEnd =
      pacing.burstIntervalMs <= 0
        ? content.audio.length
        : this.#offset + Math.max(deltaBytes, Math.round(pacing.burstMs * bytesPerMs(content.format)));
    while (this.#offset < Math.min(burstEnd, content.audio.length)) {
      const chunk = content.audio.subarray(
        this.#offset,
        Math.min(this.#offset + deltaBytes, content.audio.length),
      );
      this.#offset += chunk.length;
      this.#deps.send({
        type: 'response.output_audio.delta',
        ...this.#ids(),
        delta: chunk.toString('base64'),
      });
      if (this.#deps.stopAfterBytes !== undefined && this.#offset >= this.#deps.stopAfterBytes) {
        this.abandon();
        this.#deps.onStopped?.();
        return;
      }
    }
    if (this.#offset < content.audio.length) {
      this.#timer = setTimeout(() => this.#burst(), pacing.burstIntervalMs);
      return;
    }
    const { send } = this.#deps;
    send({ type: 'response.output_audio.done', ...this.#ids() });
    send({ type: 'response.output_audio_transcript.done', ...this.#ids(), transcript: content.transcript });
    send({
      type: 'response.content_part.done',
      ...this.#ids(),
      part: { type: 'audio', transcript: content.transcript },
    });
    const done = {
      id: this.itemId,
      object: 'realtime.item',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_audio', transcript: content.transcript }],
    };
    send({ type: 'response.output_item.done', response_id: this.id, output_index: 0, item: done });
    this.#finish('completed', [done]);
  }

  #finish(status: 'completed' | 'cancelled', output: unknown[]): void {
    this.#finished = true;
    this.#deps.send({
      type: 'response.done',
      response: { id: this.id, object: 'realtime.response', status, output },
    });
    this.#deps.onFinished();
  }
}

// One response of the local agent, framed like the real service (OpenAI Realtime GA framing,
// which Grok follows): response.created → output_item.added → content → output_item.done →
// response.done. Audio goes out faster than real time in bursts, as Grok's does, so the
// client's playout queue — not the socket — sets the pace. As recorded live, each delta says
// how much audio it holds (`audio_duration_ms`, plus `ts`, `latency`, `rid`) and response.done
// carries the answer's usage at the top level (`response.usage` stays `{}`).
import { bytesPerMs, bytesPerSample, durationMs, type AudioFormat } from '../../audio/audio-format.js';

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

/** What the answer sent, for its usage. */
export interface SentAudio {
  readonly outputAudioMs: number;
  readonly transcript: string;
}

export interface AgentResponseDeps {
  send(event: Record<string, unknown>): void;
  nextId(prefix: string): string;
  readonly pacing: BurstPacing;
  /** `audio_duration_ms`, `ts`, `latency`, `rid` on each output delta. */
  readonly deltaExtras?: boolean;
  /** Top-level `usage` of response.done (live shape); undefined = none. */
  usage?(sent: SentAudio): Record<string, unknown>;
  /** Right after response.created. */
  onCreated?(): void;
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
  #createdAtMs = 0;
  readonly #rid: string;
  /** A slow cancel under way: the answer ends `cancelled` when this fires. */
  #cancelTimer: NodeJS.Timeout | undefined;
  #onCancelMissed: (() => void) | undefined;

  constructor(deps: AgentResponseDeps, content: ResponseContent) {
    this.#deps = deps;
    this.#content = content;
    this.id = deps.nextId('resp');
    this.itemId = deps.nextId('item');
    this.#rid = deps.nextId('rid');
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** A slow cancel has been asked for and the answer still streams. */
  get cancelling(): boolean {
    return this.#cancelTimer !== undefined;
  }

  start(): void {
    const { send } = this.#deps;
    this.#createdAtMs = Date.now();
    send({
      type: 'response.created',
      response: { id: this.id, object: 'realtime.response', status: 'in_progress', output: [] },
    });
    this.#deps.onCreated?.();
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

  /**
   * response.cancel or barge-in: stop where we are; the item stays incomplete. With `lagMs` the
   * answer goes on streaming that long first (a slow server); if it completes meanwhile,
   * `onMissed` runs (the cancel found no active response). A cancel without lag ends a slow one now.
   */
  cancel(lagMs = 0, onMissed?: () => void): void {
    if (this.#finished) return;
    if (lagMs > 0 && this.#content.kind === 'audio') {
      if (this.#cancelTimer !== undefined) return;
      this.#onCancelMissed = onMissed;
      this.#cancelTimer = setTimeout(() => this.cancel(), lagMs);
      // Keep streaming: the next burst goes out now, as from a server that has not seen the cancel.
      clearTimeout(this.#timer);
      this.#burst();
      return;
    }
    clearTimeout(this.#timer);
    clearTimeout(this.#cancelTimer);
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
    clearTimeout(this.#cancelTimer);
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
        ...(this.#deps.deltaExtras === true && {
          audio_duration_ms: Math.round(durationMs(content.format, chunk.length) * 1000) / 1000,
          ts: Date.now(),
          latency: Date.now() - this.#createdAtMs,
          rid: this.#rid,
        }),
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
    const missed =
      status === 'completed' && this.#cancelTimer !== undefined ? this.#onCancelMissed : undefined;
    clearTimeout(this.#cancelTimer);
    this.#cancelTimer = undefined;
    const content = this.#content;
    const usage = this.#deps.usage?.({
      outputAudioMs: content.kind === 'audio' ? durationMs(content.format, this.#offset) : 0,
      transcript: content.kind === 'audio' ? content.transcript : '',
    });
    const response = { id: this.id, object: 'realtime.response', status, output };
    this.#deps.send(
      usage === undefined
        ? { type: 'response.done', response }
        : {
            type: 'response.done',
            // As recorded live: the numbers are top-level, response.usage is empty.
            response: { ...response, status_details: 'unimplemented', usage: {} },
            response_id: this.id,
            usage,
            previous_item_id: null,
          },
    );
    this.#deps.onFinished();
    missed?.();
  }
}

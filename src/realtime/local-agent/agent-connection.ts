// One client connection to the local agent: the handshake, the session's formats, caller audio
// through the energy VAD, and the responses (echo, or the script's steps). Wire shapes follow the
// live service as far as `live` says (live-shape.ts).
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../../observability/logger.js';
import { guardInput, rejectedInputs } from '../../observability/rejected-input.js';
import { durationMs, bytesPerSample, sampleRateOf, type AudioFormat } from '../../audio/audio-format.js';
import { defaultPcmSampleRate, formatFromSessionJson, formatToSessionJson } from '../session-audio-format.js';
import { clientEventSchema, type ClientEvent, type ClientEventOf } from '../client-events.js';
import { rawText } from '../realtime-handshake.js';
import { maxUnsentBytes } from '../socket-limits.js';
import { AgentResponse, type BurstPacing, type ResponseContent } from './agent-response.js';
import type { HandshakeMode, ScriptStep } from './agent-script.js';
import { CallerTranscription } from './caller-transcription.js';
import { decodeIntoLinear, linearSamplesOf, toneIn, transcode } from './echo-transcoder.js';
import { EnergyVad } from './energy-vad.js';
import {
  createdSession,
  flatUpdatedSession,
  initialSessionState,
  mergeSessionUpdate,
  responseUsage,
  vadRequested,
  type LiveShape,
  type SessionState,
} from './live-shape.js';

export interface AgentConnectionOptions {
  readonly index: number;
  /** The client, for rejected-input logs: `local-agent:<address>`. */
  readonly source: string;
  readonly handshake: HandshakeMode;
  readonly pacing: BurstPacing;
  /** Energy threshold used when the session's turn_detection has no `threshold`. */
  readonly vadThresholdDbfs: number;
  readonly live: LiveShape;
  /** The model the client asked for (`?model=`), else live.model. */
  readonly model: string;
  readonly log: Logger;
  /**
   * The TCP socket under `ws` (the upgrade request's): what one turn of the event loop sends is
   * written to it at once (see #sendRaw).
   */
  readonly socket?: { cork(): void; uncork(): void };
  /** The script's steps for the next user turn; undefined = echo. */
  nextTurn(): readonly ScriptStep[] | undefined;
  /** Steps to run after this connection's first session.updated. */
  afterHandshake(): readonly ScriptStep[];
  onClientEvent(event: ClientEvent): void;
  /** Every event sent (its type), for tests that time what the client did after it. */
  onServerEvent?(type: string): void;
  nextId(prefix: string): string;
}

interface TurnDetection {
  readonly thresholdDbfs: number;
  readonly silenceDurationMs: number;
  readonly prefixPaddingMs: number;
}

/** What the next response.create answers: a committed turn (VAD off) or a client item. */
type PendingInput =
  | { readonly kind: 'audio'; readonly utterance: Buffer }
  | { readonly kind: 'item'; readonly item: ClientEventOf<'conversation.item.create'>['item'] };

type ParsedClientEvent = { ok: true; event: ClientEvent } | { ok: false; type: unknown; issue: string };

/**
 * Validates a client frame with the client's own schema, also accepting `turn_detection:
 * {type: null}` — the live service's "no VAD" — whatever that schema says of it.
 */
export function parseClientEvent(json: unknown): ParsedClientEvent {
  if (isPlainAppend(json)) return { ok: true, event: json };
  const parsed = clientEventSchema.safeParse(json);
  if (parsed.success) return { ok: true, event: parsed.data };
  const body = json as { type?: unknown; session?: { turn_detection?: unknown } } | null;
  const td = body?.session?.turn_detection as { type?: unknown } | null | undefined;
  if (body?.type === 'session.update' && typeof td === 'object' && td !== null && td.type === null) {
    const retry = clientEventSchema.safeParse({
      ...body,
      session: { ...body.session, turn_detection: null },
    });
    if (retry.success && retry.data.type === 'session.update') {
      const session = { ...retry.data.session, turn_detection: td };
      return { ok: true, event: { ...retry.data, session } as unknown as ClientEvent };
    }
  }
  const issue = parsed.error.issues[0];
  return { ok: false, type: body?.type, issue: issue ? `${issue.path.join('.')} ${issue.message}` : '' };
}

/**
 * What clientEventSchema accepts as input_audio_buffer.append, checked by hand: 50 appends a
 * second per call make zod's parse of them the agent's commonest validation. (A loose object:
 * other keys pass through, as the schema's copy keeps them.)
 */
function isPlainAppend(
  json: unknown,
): json is { type: 'input_audio_buffer.append'; audio: string; event_id?: string } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const event = json as { type?: unknown; audio?: unknown; event_id?: unknown };
  return (
    event.type === 'input_audio_buffer.append' &&
    typeof event.audio === 'string' &&
    (event.event_id === undefined || typeof event.event_id === 'string')
  );
}

const sessionEndMessages = {
  max_duration: 'Maximum session duration reached',
  timeout: 'Session timed out',
} as const;

export class AgentConnection {
  readonly #ws: WebSocket;
  readonly #options: AgentConnectionOptions;
  #inputFormat: AudioFormat = { encoding: 'pcm', sampleRate: defaultPcmSampleRate };
  #outputFormat: AudioFormat = { encoding: 'pcm', sampleRate: defaultPcmSampleRate };
  #turnDetection: TurnDetection | null;
  #vad: EnergyVad;
  /** Caller audio not yet consumed by a turn, starting at sample #keptStart. */
  #kept: Buffer[] = [];
  #keptStart = 0;
  #keptSamples = 0;
  #userItemId = '';
  /** Where the current utterance starts (samples, prefix padding included), for partial transcripts. */
  #speechStartSample = 0;
  #response: AgentResponse | null = null;
  readonly #agentItems = new Set<string>();
  #pending: PendingInput | null = null;
  #sessionUpdates = 0;
  #session: SessionState;
  readonly #transcription: CallerTranscription;
  /** The caller's side of the turn being answered (for response.done usage). */
  #turnInput = { audioMs: 0, text: '' };
  readonly #connectedAtMs = Date.now();
  readonly #timers = new Set<NodeJS.Timeout>();
  #pingTimer: NodeJS.Timeout | undefined;
  /** The event_id of the client event being handled (error.event_id). */
  #clientEventId: string | null = null;
  /** Caller audio decoded for the VAD, reused append after append. */
  #linear = new Int16Array(0);
  /** options.socket is corked until the next tick (#sendRaw). */
  #corked = false;

  constructor(ws: WebSocket, options: AgentConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    const { live } = options;
    this.#session = initialSessionState(live);
    this.#turnDetection =
      live.initialTurnDetection === 'none'
        ? null
        : { thresholdDbfs: options.vadThresholdDbfs, silenceDurationMs: 500, prefixPaddingMs: 300 };
    this.#vad = this.#newVad();
    this.#transcription = new CallerTranscription((event) => this.#send(event), live);
    // Whatever one client message makes us throw is a dropped input, not an uncaught exception.
    ws.on('message', (data, isBinary) =>
      guardInput('realtime', options.source, () => this.#onMessage(data, isBinary)),
    );
    ws.on('close', () => {
      this.#response?.abandon();
      clearInterval(this.#pingTimer);
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
    });
    if (options.handshake === 'stall') return;
    if (options.handshake === 'normal' || options.handshake === 'greeting-only') {
      if (live.greeting === 'live') {
        this.#send({
          type: 'session.created',
          session: createdSession(this.#sessionId, options.model, this.#session),
        });
      }
      this.#send({
        type: 'conversation.created',
        conversation: { id: options.nextId('conv'), object: 'realtime.conversation' },
        previous_item_id: null,
      });
      if (live.greeting === 'live') this.#ping();
    }
    if (live.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#ping(), live.pingIntervalMs);
      this.#pingTimer.unref();
    }
    if (live.maxSessionMs > 0) this.#after(live.maxSessionMs, () => this.#endSession('max_duration'));
  }

  get #sessionId(): string {
    return `sess_local_${this.#options.index}`;
  }

  #ping(): void {
    this.#send({ type: 'ping', timestamp: Date.now(), previous_item_id: null });
  }

  /** A timer cleared when the socket closes. */
  #after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  /** The service ends the session: an error of type `reason`, then the socket closes. */
  #endSession(
    reason: keyof typeof sessionEndMessages,
    message: string | null = sessionEndMessages[reason],
    code: string | null = null,
    closeCode = 1000,
  ): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#error(code, message, reason, { eventId: null });
    this.#response?.abandon();
    this.#response = null;
    this.#ws.close(closeCode, reason);
  }

  /** Runs one step now (tests use this to fault a live connection at a chosen moment). */
  runStep(step: ScriptStep, utterance?: Buffer): void {
    switch (step.kind) {
      case 'echo':
        if (utterance && utterance.length > 0) return this.#echo(utterance);
        return this.#say('[echo: nothing heard]', 300);
      case 'say':
        return this.#say(step.text, step.durationMs);
      case 'long_response':
        return this.#say(`[long response ${step.durationMs} ms]`, step.durationMs);
      case 'function_call':
        return this.#startResponse({
          kind: 'function_call',
          name: step.name,
          arguments: step.arguments,
          callId: step.callId ?? this.#options.nextId('call'),
          announceTimes: step.announceTimes,
        });
      case 'error':
        return this.#error(step.code, step.message, step.errorType, {
          param: step.param,
          eventId: step.eventId,
        });
      case 'end_session': {
        const end = (): void =>
          this.#endSession(
            step.reason,
            step.message ?? sessionEndMessages[step.reason],
            step.code,
            step.closeCode,
          );
        if (step.afterMs === 0) return end();
        return this.#after(step.afterMs, end);
      }
      case 'disconnect':
        if (step.closeCode !== undefined) this.#ws.close(step.closeCode, 'scripted disconnect');
        else this.terminate();
        return;
      case 'bad_json':
        this.#sendRaw('this is {not json');
        this.#ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
        this.#sendRaw('[1,2,3]');
        this.#sendRaw('{"type":42}');
        this.#sendRaw('{"type":"response.output_audio.delta","response_id":"r","item_id":"i"}');
        return;
      case 'unknown_event':
        return this.#send({ type: 'grok.future_event', detail: 'not in the protocol subset' });
      case 'ping':
        return this.#ping();
      case 'close_mid_response': {
        const audio = toneIn(this.#outputFormat, 2000);
        this.#startResponse(
          { kind: 'audio', audio, format: this.#outputFormat, transcript: '[cut off]' },
          { stopAfterBytes: Math.max(1, Math.round(step.afterMs * (audio.length / 2000))) },
        );
        return;
      }
    }
  }

  #newVad(): EnergyVad {
    const td = this.#turnDetection;
    return new EnergyVad({
      sampleRate: sampleRateOf(this.#inputFormat),
      ...(td
        ? {
            thresholdDbfs: td.thresholdDbfs,
            silenceDurationMs: td.silenceDurationMs,
            prefixPaddingMs: td.prefixPaddingMs,
          }
        : {}),
    });
  }

  #send(event: Record<string, unknown>): void {
    if (typeof event.type === 'string') this.#options.onServerEvent?.(event.type);
    this.#sendRaw(JSON.stringify({ event_id: this.#options.nextId('event'), ...event }));
  }

  #sendRaw(text: string): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    // Everything sent in one turn of the event loop (a burst of ten audio deltas, the VAD and
    // transcript events of one append) leaves in one write: without the cork each event was a
    // writev syscall of its own, ~28 % of the agent's CPU at 500 echo calls (issue 16). The
    // bytes and their order on the wire are the same; nextTick runs before any I/O, so nothing
    // is later either.
    const socket = this.#options.socket;
    if (socket !== undefined && !this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(this.#uncork);
    }
    this.#ws.send(text);
  }

  readonly #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#options.socket?.uncork();
  };

  /** Drops the connection (no close handshake) after writing what was already sent. */
  terminate(): void {
    this.#uncork();
    this.#ws.terminate();
  }

  /** An `error` event with every field the live service sends (`param`, `event_id` null unless known). */
  #error(
    code: string | null,
    message: string | null,
    type: string | null = 'invalid_request_error',
    extra: { param?: string | null; eventId?: string | null } = {},
  ): void {
    this.#send({
      type: 'error',
      error: {
        type,
        code,
        message,
        param: extra.param ?? null,
        event_id: extra.eventId !== undefined ? extra.eventId : this.#clientEventId,
      },
    });
  }

  /** An error event for a client frame we drop, counted; none while the client is not reading. */
  #reject(code: string, message: string): void {
    rejectedInputs.reject('realtime', this.#options.source, code);
    // Each bad frame would queue one error event: a client flooding garbage without reading
    // its socket must not make us buffer without bound.
    if (this.#ws.bufferedAmount > maxUnsentBytes) return;
    this.#error(code, message);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#options.handshake === 'stall') return;
    if (isBinary) return this.#reject('invalid_event', 'binary frames are not events');
    let json: unknown;
    try {
      json = JSON.parse(rawText(data));
    } catch {
      return this.#reject('invalid_json', 'message is not JSON');
    }
    const parsed = parseClientEvent(json);
    if (!parsed.ok) {
      return this.#reject('invalid_event', `invalid client event ${String(parsed.type)}: ${parsed.issue}`);
    }
    const event = parsed.event;
    this.#options.onClientEvent(event);
    this.#clientEventId = event.event_id ?? null;
    try {
      this.#onEvent(event);
    } finally {
      this.#clientEventId = null;
    }
  }

  #onEvent(event: ClientEvent): void {
    switch (event.type) {
      case 'session.update':
        return this.#onSessionUpdate(event);
      case 'input_audio_buffer.append':
        return this.#onAudio(Buffer.from(event.audio, 'base64'));
      case 'input_audio_buffer.commit': {
        if (this.#keptSamples === 0) return this.#error('input_audio_buffer_commit_empty', 'buffer is empty');
        const audio = Buffer.concat(this.#kept);
        this.#resetInput();
        this.#userItemId = this.#options.nextId('item');
        this.#send({
          type: 'input_audio_buffer.committed',
          item_id: this.#userItemId,
          previous_item_id: null,
        });
        if (this.#turnDetection !== null) return this.#audioTurn(audio);
        // No VAD: the turn is the caller's item now; the answer waits for response.create.
        this.#transcribe(audio);
        this.#pending = { kind: 'audio', utterance: audio };
        return;
      }
      case 'input_audio_buffer.clear':
        this.#resetInput();
        return this.#send({ type: 'input_audio_buffer.cleared' });
      case 'conversation.item.create': {
        this.#pending = { kind: 'item', item: event.item };
        const id = this.#options.nextId('item');
        return this.#send({
          type: 'conversation.item.added',
          item: { id, ...event.item, status: 'completed' },
        });
      }
      case 'response.create':
        return this.#onResponseCreate(event.response?.instructions);
      case 'response.cancel': {
        const eventId = this.#clientEventId;
        const notActive = (): void =>
          this.#error(
            'response_cancel_not_active',
            'Cancellation failed: no active response found',
            undefined,
            {
              eventId,
            },
          );
        if (!this.#response) return notActive();
        // A slow server (live.cancelLagMs) streams on; if the answer completes first, the
        // cancel finds nothing to cancel.
        return this.#response.cancel(this.#options.live.cancelLagMs, notActive);
      }
      case 'conversation.item.truncate':
        if (!this.#agentItems.has(event.item_id)) {
          return this.#error('item_truncate_invalid_item_id', `no assistant item ${event.item_id}`);
        }
        return this.#send({
          type: 'conversation.item.truncated',
          item_id: event.item_id,
          content_index: event.content_index,
          audio_end_ms: event.audio_end_ms,
        });
    }
  }

  #onSessionUpdate(event: ClientEventOf<'session.update'>): void {
    if (this.#options.handshake === 'greeting-only') return;
    const session = event.session;
    // Function tools are flat on the live service: {type:'function', name, description, parameters}.
    const tools = session.tools ?? [];
    for (const [i, tool] of tools.entries()) {
      if (tool.type === 'function' && (typeof tool.name !== 'string' || tool.name === '')) {
        return this.#error(
          'invalid_value',
          `session.tools[${i}]: a function tool is flat — {type: "function", name, description, parameters}`,
          'invalid_request_error',
          { param: `session.tools[${i}].name` },
        );
      }
    }
    let inputFormat = this.#inputFormat;
    let outputFormat = this.#outputFormat;
    for (const direction of ['input', 'output'] as const) {
      const json = session.audio?.[direction]?.format;
      if (!json) continue;
      try {
        if (direction === 'input') inputFormat = formatFromSessionJson(json);
        else outputFormat = formatFromSessionJson(json);
      } catch (err) {
        return this.#error('invalid_value', (err as Error).message, 'invalid_request_error', {
          param: `session.audio.${direction}.format`,
        });
      }
    }
    this.#inputFormat = inputFormat;
    this.#outputFormat = outputFormat;
    const td = session.turn_detection as Record<string, unknown> | null | undefined;
    if (td === null || (td !== undefined && !vadRequested(td))) {
      this.#turnDetection = null;
    } else if (td !== undefined) {
      const threshold = typeof td.threshold === 'number' ? td.threshold : undefined;
      this.#turnDetection = {
        // Our mapping of the 0..1 threshold onto energy: 0 → -60 dBFS, 0.5 → -40, 1 → -20.
        thresholdDbfs: threshold !== undefined ? -60 + 40 * threshold : this.#options.vadThresholdDbfs,
        silenceDurationMs: typeof td.silence_duration_ms === 'number' ? td.silence_duration_ms : 500,
        prefixPaddingMs: typeof td.prefix_padding_ms === 'number' ? td.prefix_padding_ms : 300,
      };
    }
    this.#session = mergeSessionUpdate(this.#session, session);
    this.#transcription.configure(this.#session.transcription);
    this.#vad = this.#newVad();
    this.#resetInput();
    if (this.#options.live.sessionUpdated === 'flat') {
      this.#send({
        type: 'session.updated',
        session: flatUpdatedSession(this.#sessionId, this.#options.model, this.#session),
      });
    } else {
      this.#send({
        type: 'session.updated',
        session: {
          ...session,
          object: 'realtime.session',
          id: this.#sessionId,
          audio: {
            input: { format: formatToSessionJson(this.#inputFormat) },
            output: { format: formatToSessionJson(this.#outputFormat) },
          },
        },
      });
    }
    if (this.#sessionUpdates++ === 0) for (const step of this.#options.afterHandshake()) this.runStep(step);
  }

  #onAudio(bytes: Buffer): void {
    const width = bytesPerSample(this.#inputFormat);
    if (bytes.length % width !== 0)
      return this.#error('invalid_audio', `pcm audio must be whole 16-bit samples`);
    this.#kept.push(bytes);
    this.#keptSamples += bytes.length / width;
    if (this.#turnDetection === null) return;
    if (this.#linear.length < linearSamplesOf(bytes, this.#inputFormat)) {
      this.#linear = new Int16Array(linearSamplesOf(bytes, this.#inputFormat));
    }
    const samples = decodeIntoLinear(bytes, this.#inputFormat, this.#linear);
    for (const vadEvent of this.#vad.push(this.#linear, samples)) {
      const rate = this.#vad.sampleRate;
      if (vadEvent.kind === 'speech_started') {
        this.#userItemId = this.#options.nextId('item');
        this.#speechStartSample = vadEvent.startSample;
        this.#send({
          type: 'input_audio_buffer.speech_started',
          audio_start_ms: Math.round((vadEvent.startSample * 1000) / rate),
          item_id: this.#userItemId,
        });
        // Server VAD barge-in: the caller talking over the agent cancels its answer (a slow
        // server only after live.cancelLagMs).
        this.#response?.cancel(this.#options.live.cancelLagMs);
      } else {
        this.#send({
          type: 'input_audio_buffer.speech_stopped',
          audio_end_ms: Math.round((vadEvent.endSample * 1000) / rate),
          item_id: this.#userItemId,
        });
        const utterance = this.#takeInput(vadEvent.startSample, vadEvent.endSample);
        this.#send({
          type: 'input_audio_buffer.committed',
          item_id: this.#userItemId,
          previous_item_id: null,
        });
        this.#audioTurn(utterance);
      }
    }
    if (this.#vad.speaking && this.#transcription.enabled) {
      // Silence after the last voiced window adds no words.
      const spokenMs = ((this.#vad.voicedUntil - this.#speechStartSample) * 1000) / this.#vad.sampleRate;
      this.#transcription.progress(this.#userItemId, spokenMs);
    }
    if (!this.#vad.speaking) this.#trimIdleInput();
  }

  /** Bytes for samples [start, end), then forget everything before `end`. */
  #takeInput(startSample: number, endSample: number): Buffer {
    const width = bytesPerSample(this.#inputFormat);
    const all = Buffer.concat(this.#kept);
    const from = Math.max(0, (startSample - this.#keptStart) * width);
    const to = Math.max(from, (endSample - this.#keptStart) * width);
    const utterance = Buffer.from(all.subarray(from, to));
    const rest = all.subarray(to);
    this.#kept = rest.length > 0 ? [rest] : [];
    this.#keptStart = Math.max(this.#keptStart, endSample);
    this.#keptSamples = rest.length / width;
    return utterance;
  }

  /** While nobody speaks keep only what a prefix pad (plus the start-up windows) can reach back to. */
  #trimIdleInput(): void {
    const width = bytesPerSample(this.#inputFormat);
    const padMs = (this.#turnDetection?.prefixPaddingMs ?? 0) + 50;
    const keepSamples = Math.ceil((padMs * sampleRateOf(this.#inputFormat)) / 1000);
    while (this.#kept.length > 1 && this.#keptSamples - this.#kept[0]!.length / width >= keepSamples) {
      const dropped = this.#kept.shift()!;
      this.#keptSamples -= dropped.length / width;
      this.#keptStart += dropped.length / width;
    }
  }

  #resetInput(): void {
    this.#keptStart = this.#vad.position;
    this.#kept = [];
    this.#keptSamples = 0;
  }

  /** The caller's turn `#userItemId` ended with `utterance` (VAD stop, or a commit with VAD on). */
  #audioTurn(utterance: Buffer): void {
    this.#transcribe(utterance);
    this.#respond(utterance);
  }

  /** The caller's transcript of the turn (live or legacy shape; none when there is nothing). */
  #transcribe(utterance: Buffer): void {
    if (utterance.length === 0) return;
    const ms = durationMs(this.#inputFormat, utterance.length);
    this.#turnInput = { audioMs: ms, text: '' };
    this.#transcription.turnEnded(this.#userItemId, ms);
  }

  /** Answers a turn: the script's steps for it, else an echo (audio) or a tone (text, bare). */
  #respond(utterance: Buffer | null, text?: string): void {
    const steps = this.#options.nextTurn();
    if (steps) {
      for (const step of steps) this.runStep(step, utterance ?? undefined);
    } else if (utterance && utterance.length > 0) {
      this.#echo(utterance);
    } else {
      this.#say(text !== undefined ? `[echo text: ${text}]` : '[response]', 300);
    }
    // A turn whose steps started no answer still gets its repeated transcript.
    this.#transcription.flushRepeat();
  }

  #onResponseCreate(instructions: string | undefined): void {
    if (this.#response) {
      return this.#error(
        'conversation_already_has_active_response',
        'Conversation already has an active response',
      );
    }
    const pending = this.#pending;
    this.#pending = null;
    if (pending?.kind === 'audio') return this.#respond(pending.utterance);
    if (pending?.item.type === 'function_call_output') {
      return this.#say(`[function result: ${pending.item.output}]`, 300);
    }
    if (pending?.item.type === 'message') {
      const text = pending.item.content.map((c) => c.text).join(' ');
      this.#turnInput = { audioMs: 0, text };
      return this.#respond(null, text);
    }
    if (instructions !== undefined) return this.#say(`[instructions: ${instructions}]`, 300);
    this.#respond(null);
  }

  #echo(utterance: Buffer): void {
    const audio = transcode(utterance, this.#inputFormat, this.#outputFormat);
    const seconds = (durationMs(this.#inputFormat, utterance.length) / 1000).toFixed(1);
    this.#startResponse({
      kind: 'audio',
      audio,
      format: this.#outputFormat,
      transcript: `[echo ${seconds} s]`,
    });
  }

  #say(text: string, toneMs: number): void {
    const audio = toneIn(this.#outputFormat, toneMs);
    this.#startResponse({ kind: 'audio', audio, format: this.#outputFormat, transcript: text });
  }

  #startResponse(content: ResponseContent, fault: { stopAfterBytes?: number } = {}): void {
    this.#response?.cancel();
    const { live } = this.#options;
    const turnInput = this.#turnInput;
    this.#turnInput = { audioMs: 0, text: '' };
    const response: AgentResponse = new AgentResponse(
      {
        send: (event) => this.#send(event),
        nextId: (prefix) => this.#options.nextId(prefix),
        pacing: this.#options.pacing,
        deltaExtras: live.deltaExtras,
        ...(live.usage && {
          usage: (sent) =>
            responseUsage({
              ...sent,
              inputAudioMs: turnInput.audioMs,
              inputText: `${this.#session.instructions}${turnInput.text}`,
              sessionMs: Date.now() - this.#connectedAtMs,
            }),
        }),
        onCreated: () => this.#transcription.flushRepeat(),
        ...(fault.stopAfterBytes !== undefined
          ? { stopAfterBytes: fault.stopAfterBytes, onStopped: () => this.terminate() }
          : {}),
        onFinished: () => {
          if (this.#response === response) this.#response = null;
        },
      },
      content,
    );
    this.#response = response;
    this.#agentItems.add(response.itemId);
    response.start();
  }
}

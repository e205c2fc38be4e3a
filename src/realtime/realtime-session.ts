// One call's realtime session with Grok: typed events out, audio and control in. Survives one
// socket loss (reconnect once with the same session config, DESIGN.md "Failure rules"); nothing
// the server sends can throw into the call. Every frame dropped here or refused by the socket
// (realtime-handshake.ts) is counted as rejected realtime input.
import { EventEmitter } from 'node:events';
import type { RawData, WebSocket } from 'ws';
import { LogOnce, logger, type Logger } from '../observability/logger.js';
import { guardInput, rejectedInputs } from '../observability/rejected-input.js';
import { bytesPerMs, durationMs, formatName, sameFormat, type AudioFormat } from '../audio/audio-format.js';
import { DEFAULT_LIVENESS, type LivenessSettings } from './socket-liveness.js';
import { confirmedFormat } from './session-audio-format.js';
import { TranscriptAssembler } from './transcript-assembler.js';
import type { ClientEvent } from './client-events.js';
import { localError, RealtimeConnectError } from './error-classification.js';
import { openRealtimeSocket, rawText } from './realtime-handshake.js';
import { droppedMessageReason, parseServerMessage } from './server-events.js';
import type { SessionJson } from './session-config.js';
import { closeHandshakeMs, maxUnsentBytes } from './socket-limits.js';
import { FunctionCallGate } from './function-call-gate.js';
import { mapServerEvent, type ServerEventSink } from './server-event-mapping.js';
import type {
  ConnectRealtimeOptions,
  RealtimeCloseReason,
  RealtimeSessionEvents,
  RealtimeSessionStats,
} from './realtime-session-types.js';

export type * from './realtime-session-types.js';

/** After an error that ends the session, the service closes the socket; if not within this, we do. */
const sessionEndCloseWaitMs = 2000;

type State = 'connecting' | 'ready' | 'reconnecting' | 'closing' | 'closed';

export class RealtimeSession extends EventEmitter<RealtimeSessionEvents> {
  /** What the server reported in session.updated (falls back to what we asked for). */
  inputFormat: AudioFormat;
  outputFormat: AudioFormat;
  readonly stats: RealtimeSessionStats = {
    eventsIn: 0,
    unknownEvents: 0,
    malformedEvents: 0,
    audioBytesIn: 0,
    audioBytesOut: 0,
    droppedAudioBytes: 0,
    duplicateFunctionCalls: 0,
    renewals: 0,
    droppedFunctionCalls: 0,
    reconnects: 0,
  };

  readonly #options: ConnectRealtimeOptions;
  readonly #url: URL;
  readonly #sessionJson: SessionJson;
  readonly #log: Logger;
  readonly #logOnce = new LogOnce(64);
  readonly #source: string;
  #ws: WebSocket | null = null;
  #abortSocket: ((cause: string) => void) | null = null;
  #state: State = 'connecting';
  #reconnectsLeft: number;
  #pendingAudio: Buffer[] = [];
  #pendingAudioBytes = 0;
  #activeResponseId: string | null = null;
  readonly #functionCalls = new FunctionCallGate();
  readonly #liveness: LivenessSettings;
  readonly #maxBufferedBytes: number;
  readonly #transcripts = new TranscriptAssembler((event) => this.#emitEvent('transcript', event));
  /** Set when the service said it ends this session: its close opens a new one (not the once-only reconnect). */
  #endingReason: string | null = null;
  #endingTimer: NodeJS.Timeout | undefined;
  #holdEvents = false;
  #held: (() => void)[] = [];
  #closePromise: Promise<void> | null = null;

  /** Use connectRealtime() (connect-realtime.ts). */
  constructor(options: ConnectRealtimeOptions, url: URL, sessionJson: SessionJson) {
    super();
    this.#options = options;
    this.#url = url;
    this.#sessionJson = sessionJson;
    this.#log = (options.log ?? logger).child({ component: 'realtime' });
    this.#source = options.source ?? `realtime:${url.host}`;
    this.#reconnectsLeft = options.reconnect === false ? 0 : 1;
    this.#liveness = { ...DEFAULT_LIVENESS, ...options.liveness };
    // Audio appends travel as base64 (4/3) in JSON (~100 bytes per 20 ms append); never above the
    // hard bound of socket-limits.ts.
    this.#maxBufferedBytes = Math.min(
      maxUnsentBytes,
      Math.ceil(bytesPerMs(options.session.inputFormat) * this.#liveness.maxBufferedMs * (4 / 3)) +
        Math.ceil(this.#liveness.maxBufferedMs / 20) * 100,
    );
    this.inputFormat = options.session.inputFormat;
    this.outputFormat = options.session.outputFormat;
  }

  get state(): State {
    return this.#state;
  }

  /** Internal: first connect. Rejects with RealtimeConnectError. */
  async open(): Promise<void> {
    this.#holdEvents = true;
    try {
      await this.#connectSocket();
    } catch (err) {
      this.#state = 'closed';
      throw err;
    }
    this.#state = 'ready';
    this.#flushPendingAudio();
    // Events that arrived with session.updated wait until the caller has attached listeners.
    setImmediate(() => {
      this.#holdEvents = false;
      for (const emit of this.#held.splice(0)) emit();
    });
  }

  /**
   * Sends caller audio (raw bytes in the input format). While (re)connecting it is queued up to
   * maxPendingAudioMs; after close it is dropped. Never throws on state, only on a bad argument.
   */
  appendAudio(chunk: Buffer): 'sent' | 'queued' | 'dropped' {
    if (!Buffer.isBuffer(chunk)) throw new TypeError('appendAudio expects a Buffer');
    if (this.inputFormat.encoding === 'pcm' && chunk.length % 2 !== 0) {
      throw new RangeError(`pcm audio chunk must have an even byte length, got ${chunk.length}`);
    }
    if (chunk.length === 0) return 'dropped';
    if (this.#state === 'ready') {
      this.stats.audioBytesOut += chunk.length;
      this.#send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') });
      return 'sent';
    }
    if (this.#state === 'connecting' || this.#state === 'reconnecting') {
      this.#pendingAudio.push(Buffer.from(chunk));
      this.#pendingAudioBytes += chunk.length;
      const maxMs = this.#options.maxPendingAudioMs ?? 1000;
      while (this.#pendingAudio.length > 0 && durationMs(this.inputFormat, this.#pendingAudioBytes) > maxMs) {
        const dropped = this.#pendingAudio.shift()!;
        this.#pendingAudioBytes -= dropped.length;
        this.stats.droppedAudioBytes += dropped.length;
      }
      return 'queued';
    }
    this.stats.droppedAudioBytes += chunk.length;
    if (this.#logOnce.first('append-after-close')) this.#log.debug('audio appended after close: dropped');
    return 'dropped';
  }

  createResponse(opts: { instructions?: string } = {}): void {
    const event: ClientEvent = { type: 'response.create' };
    if (opts.instructions !== undefined) event.response = { instructions: opts.instructions };
    this.#send(event);
  }

  /** Safe to call when no response is active: the server's "no active response" is benign. */
  cancelResponse(): void {
    this.#send({ type: 'response.cancel' });
  }

  /** Best effort (may be unsupported by Grok): tells the model how much of its item was heard. */
  truncate(itemId: string, audioEndMs: number): void {
    if (typeof itemId !== 'string' || itemId === '') throw new TypeError('truncate needs an item id');
    if (!Number.isFinite(audioEndMs) || audioEndMs < 0) {
      throw new RangeError(`audioEndMs must be a non-negative number, got ${audioEndMs}`);
    }
    this.#send({
      type: 'conversation.item.truncate',
      item_id: itemId,
      content_index: 0,
      audio_end_ms: Math.round(audioEndMs),
    });
  }

  /**
   * Returns a function's result to the model. `respond: false` skips the follow-up
   * response.create: after end_call or a transfer the model must not start another turn.
   */
  sendFunctionResult(callId: string, output: string, opts: { respond?: boolean } = {}): void {
    if (typeof callId !== 'string' || callId === '')
      throw new TypeError('sendFunctionResult needs a call id');
    if (typeof output !== 'string') throw new TypeError('function output must be a string (JSON text)');
    this.#send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output },
    });
    if (opts.respond !== false) this.#send({ type: 'response.create' });
  }

  /** A user turn as text (e.g. "caller pressed 5"), answered at once. */
  sendUserText(text: string): void {
    if (typeof text !== 'string' || text === '') throw new TypeError('sendUserText needs non-empty text');
    this.#send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
    });
    this.#send({ type: 'response.create' });
  }

  /** Closes the socket (1000) and emits 'closed' {reason:'client'}; idempotent. */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closePromise = new Promise<void>((resolve) => {
      if (this.#state === 'closed') return resolve();
      this.#state = 'closing';
      this.#pendingAudio = [];
      const ws = this.#ws;
      const done = (): void => {
        clearTimeout(forceTimer);
        this.#finish({ reason: 'client' });
        resolve();
      };
      // A peer that never answers the close frame must not hold the call open.
      const forceTimer = setTimeout(() => ws?.terminate(), closeHandshakeMs);
      if (!ws || ws.readyState === ws.CLOSED) return done();
      ws.once('close', done);
      ws.close(1000, 'call ended');
    });
    return this.#closePromise;
  }

  async #connectSocket(sessionJson: SessionJson = this.#sessionJson): Promise<void> {
    const opened = await openRealtimeSocket(
      {
        url: this.#url,
        ...(this.#options.apiKey !== undefined ? { apiKey: this.#options.apiKey } : {}),
        sessionJson,
        timeoutMs: this.#options.handshakeTimeoutMs ?? 10_000,
        greetingGraceMs: this.#options.greetingGraceMs ?? 2000,
        ...(this.#options.frameStallMs !== undefined && { frameStallMs: this.#options.frameStallMs }),
        source: this.#source,
        liveness: this.#liveness,
        log: this.#log,
      },
      {
        message: (data, isBinary) => this.#onMessage(data, isBinary),
        close: (ws, code, reason, cause) => this.#onSocketClose(ws, code, reason, cause),
      },
    );
    this.#ws = opened.ws;
    this.#abortSocket = opened.abort;
    const mismatch = this.#formatMismatch(opened.session);
    if (mismatch !== null) {
      opened.ws.terminate();
      this.#log.error({ reason: mismatch }, 'realtime audio format mismatch; ending the agent session');
      throw new RealtimeConnectError('format_mismatch', mismatch);
    }
    if (this.#state === 'closing' || this.#state === 'closed') opened.ws.terminate();
  }

  /**
   * The call keeps the formats it asked for: a `session.updated` that says nothing (the live
   * service's flat echo says "not specified") or something unreadable changes nothing; one that
   * confirms a DIFFERENT format is a mismatch (the call would play garbled audio), returned as
   * a message for the caller to end the session with.
   */
  #formatMismatch(session: Record<string, unknown>): string | null {
    for (const direction of ['input', 'output'] as const) {
      const asked = direction === 'input' ? this.inputFormat : this.outputFormat;
      const said = confirmedFormat(session, direction);
      if (said.kind === 'unreadable') {
        if (this.#logOnce.first(`unreadable-${direction}-format`)) {
          this.#log.warn(
            { direction, value: said.value },
            'session.updated: unreadable audio format, keeping ours',
          );
        }
      } else if (said.kind === 'format' && !sameFormat(said.format, asked)) {
        return `the realtime service confirmed ${direction} audio ${formatName(said.format)}, we asked for ${formatName(asked)}`;
      }
    }
    return null;
  }

  #send(event: ClientEvent): boolean {
    const ws = this.#ws;
    if (this.#state !== 'ready' || !ws || ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > this.#maxBufferedBytes) {
      // The server has stopped reading (or the path to it has): past ~2 s of our audio the agent
      // would answer late anyway; the socket is given up and the session reconnects.
      this.#abortSocket?.(
        `the server stopped reading (${ws.bufferedAmount} bytes unsent, over ${this.#liveness.maxBufferedMs} ms of audio)`,
      );
      return false;
    }
    // Send errors surface as the socket's close; the callback keeps them from being thrown.
    ws.send(JSON.stringify(event), (err) => {
      if (err && this.#logOnce.first('send-error'))
        this.#log.debug({ err: err.message }, 'realtime send failed');
    });
    return true;
  }

  #flushPendingAudio(): void {
    const pending = this.#pendingAudio.splice(0);
    this.#pendingAudioBytes = 0;
    for (const chunk of pending) this.appendAudio(chunk);
  }

  #emitEvent<K extends keyof RealtimeSessionEvents>(name: K, ...args: RealtimeSessionEvents[K]): void {
    const emit = (): void => {
      // 'error' without a listener would throw out of EventEmitter: log instead.
      if (name === 'error' && this.listenerCount('error') === 0) {
        this.#log.warn({ error: args[0] }, 'realtime error (no listener)');
        return;
      }
      try {
        (this.emit as (n: K, ...a: RealtimeSessionEvents[K]) => boolean)(name, ...args);
      } catch (err) {
        // A listener's bug must not kill the socket's message loop.
        this.#log.error({ err: (err as Error).message, event: name }, 'realtime listener threw');
      }
    };
    if (this.#holdEvents) this.#held.push(emit);
    else emit();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.stats.malformedEvents++;
      rejectedInputs.reject('realtime', this.#source, 'binary frame');
      return;
    }
    const parsed = parseServerMessage(rawText(data));
    if (parsed.kind !== 'event') {
      if (parsed.kind === 'malformed') this.stats.malformedEvents++;
      else this.stats.unknownEvents++;
      // Logged once per source and reason (the boundary's log); the detail only at debug.
      rejectedInputs.reject('realtime', this.#source, droppedMessageReason(parsed));
      this.#log.debug({ parsed }, 'realtime event dropped');
      return;
    }
    this.stats.eventsIn++;
    guardInput('realtime', this.#source, () => mapServerEvent(parsed.event, this.#sink));
  }

  /** What the event mapping (server-event-mapping.ts) does to this session. */
  readonly #sink: ServerEventSink = {
    emit: (name, ...args) => this.#emitEvent(name, ...args),
    // The agent answering ends the caller's turn: a caller final still settling is written
    // first, so transcripts keep turn order (transcript-assembler.ts).
    responseStarted: (responseId) => {
      this.#transcripts.settle();
      this.#activeResponseId = responseId;
    },
    responseDone: (responseId) => {
      this.#transcripts.settle();
      if (this.#activeResponseId === responseId) this.#activeResponseId = null;
    },
    audioBytesIn: (bytes) => {
      this.stats.audioBytesIn += bytes;
    },
    functionCall: (callId, name, args) => {
      const verdict = this.#functionCalls.admit(callId);
      if (verdict === 'duplicate') {
        this.stats.duplicateFunctionCalls++;
      } else if (verdict === 'over-rate') {
        this.stats.droppedFunctionCalls++;
        rejectedInputs.reject('realtime', this.#source, 'function calls over rate');
      } else {
        this.#emitEvent('function_call', { callId, name, arguments: args });
      }
    },
    serverError: (classified) => {
      if (classified.benign) this.#log.debug({ error: classified }, 'benign realtime error');
      if (classified.sessionEnd) this.#serviceEndsSession(classified.message);
      this.#emitEvent('error', classified);
      if (classified.fatal) this.#abort('fatal_error', classified.message);
    },
    sessionUpdated: (session) => {
      const mismatch = this.#formatMismatch(session);
      if (mismatch === null) return;
      this.#log.error({ reason: mismatch }, 'realtime audio format mismatch; ending the agent session');
      this.#emitEvent('error', localError('format_mismatch', mismatch, true));
      this.#abort('fatal_error', mismatch);
    },
    speechStarted: () => this.#transcripts.settle(),
    userTranscript: (itemId, text, stage) => {
      if (stage === 'delta') this.#transcripts.userDelta(itemId, text);
      else if (stage === 'partial') this.#transcripts.userPartial(itemId, text);
      else this.#transcripts.userCompleted(itemId, text);
    },
    agentTranscript: (itemId, text, stage) => {
      if (stage === 'delta') this.#transcripts.agentDelta(itemId, text);
      else {
        this.#transcripts.settle();
        this.#transcripts.agentDone(itemId, text);
      }
    },
  };

  #onSocketClose(ws: WebSocket, code: number, reason: string, cause: string | undefined): void {
    if (ws !== this.#ws || this.#state === 'closing' || this.#state === 'closed') return;
    const interrupted = this.#activeResponseId;
    this.#activeResponseId = null;
    const where = interrupted !== null ? ` during response ${interrupted}` : '';
    const message =
      cause !== undefined
        ? `realtime socket closed by us: ${cause}${where}`
        : `realtime socket closed by the server (${code}${reason ? ` ${reason}` : ''})${where}`;
    if (interrupted !== null)
      this.#emitEvent('response_done', { responseId: interrupted, status: 'interrupted' });
    if (this.#endingReason !== null) {
      // The service ended the session on purpose (timeout, max_duration): a new one takes over,
      // whatever the once-only reconnect budget says — a long call must not go silent.
      this.#state = 'reconnecting';
      void this.#reconnect(this.#endingReason);
      return;
    }
    if (this.#reconnectsLeft <= 0) {
      this.#emitEvent('error', localError('connection_lost', message, true));
      this.#finish({ reason: 'connection_lost', code, message });
      return;
    }
    this.#reconnectsLeft--;
    this.#state = 'reconnecting';
    this.#emitEvent('error', localError('connection_lost', `${message}; reconnecting once`, false));
    void this.#reconnect();
  }

  /** A new socket and session after a loss (`renewal` undefined) or a session the service ended. */
  async #reconnect(renewal?: string): Promise<void> {
    this.#endingReason = null;
    clearTimeout(this.#endingTimer);
    await new Promise((r) => setTimeout(r, this.#options.reconnectDelayMs ?? 250));
    if (this.#state !== 'reconnecting') return;
    try {
      await this.#connectSocket(this.#seededSessionJson());
    } catch (err) {
      if (this.#state !== 'reconnecting') return;
      const message = `realtime reconnect failed: ${(err as Error).message}`;
      this.#emitEvent('error', localError('reconnect_failed', message, true));
      this.#finish({ reason: 'reconnect_failed', message });
      return;
    }
    if (this.#state !== 'reconnecting') return;
    this.#state = 'ready';
    if (renewal !== undefined) {
      this.stats.renewals++;
      this.#log.info({ reason: renewal }, 'realtime session ended by the service; a new one took over');
      this.#emitEvent('renewed', { reason: renewal });
    } else {
      this.stats.reconnects++;
      this.#emitEvent('reconnected');
    }
    this.#flushPendingAudio();
  }

  /** The service says it ends this session; if it does not close the socket soon, we do. */
  #serviceEndsSession(reason: string): void {
    if (this.#endingReason !== null || this.#state !== 'ready') return;
    this.#endingReason = reason;
    clearTimeout(this.#endingTimer);
    this.#endingTimer = setTimeout(() => {
      if (this.#endingReason !== null && this.#state === 'ready')
        this.#abortSocket?.(`session ended: ${reason}`);
    }, sessionEndCloseWaitMs);
    this.#endingTimer.unref();
  }

  /**
   * The session config of a new session in the same call: our instructions plus the
   * conversation so far as text context (not re-spoken: no response is asked for).
   */
  #seededSessionJson(): SessionJson {
    this.#transcripts.settle();
    const context = this.#transcripts.context();
    if (context.length === 0) return this.#sessionJson;
    const lines = context.map((l) => `${l.role === 'user' ? 'Caller' : 'You'}: ${l.text}`).join('\n');
    const instructions = [
      this.#sessionJson.instructions ?? '',
      'This phone call continues a conversation whose earlier session has ended. Do not greet the caller again and do not repeat what you already said. The conversation so far:',
      lines,
    ]
      .filter((part) => part !== '')
      .join('\n\n');
    return { ...this.#sessionJson, instructions };
  }

  #abort(reason: RealtimeCloseReason, message: string): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#ws?.terminate();
    this.#finish({ reason, message });
  }

  #finish(closed: RealtimeSessionEvents['closed'][0]): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#endingTimer);
    this.#transcripts.settle();
    this.#state = 'closed';
    this.#pendingAudio = [];
    this.#pendingAudioBytes = 0;
    this.#emitEvent('closed', closed);
  }
}

// The public shapes of a realtime session: connect options, event payloads, stats.
import type { Logger } from '../observability/logger.js';
import type { RealtimeError } from './error-classification.js';
import type { RealtimeSessionConfig } from './session-config.js';
import type { LivenessSettings } from './socket-liveness.js';

export interface ConnectRealtimeOptions {
  /** `wss://api.x.ai/v1/realtime`, or the local agent's `ws://127.0.0.1:…`. */
  readonly url: string;
  /** XAI_API_KEY; sent only as `Authorization: Bearer`, never logged. */
  readonly apiKey?: string;
  /** Fixed at connect time (`?model=`); session.update cannot change it. */
  readonly model?: string;
  readonly session: RealtimeSessionConfig;
  /** Upgrade + conversation.created + session.updated; default 10000. */
  readonly handshakeTimeoutMs?: number;
  /** Reconnect once with the same session config when the socket drops; default true. */
  readonly reconnect?: boolean;
  /** Pause before that one reconnect; default 250. */
  readonly reconnectDelayMs?: number;
  /** Caller audio kept while (re)connecting, newest wins; default 1000. */
  readonly maxPendingAudioMs?: number;
  /** See HandshakeOptions.greetingGraceMs; default 2000. */
  readonly greetingGraceMs?: number;
  /** A frame or fragmented message from the server unfinished this long ends the socket; default 10000. */
  readonly frameStallMs?: number;
  /**
   * Names this session where its rejected input is logged and counted
   * (grok_sip_rejected_input_total{kind="realtime"}); default `call:<callId>` when `log` is
   * call-scoped, else `realtime:<host>`.
   */
  readonly source?: string;
  /** Ping/pong, idle and backpressure bounds of each socket (socket-liveness.ts has the defaults). */
  readonly liveness?: Partial<LivenessSettings>;
  /** Call-scoped logger (e.g. `logger.child({ callId })`). */
  readonly log?: Logger;
}

export interface RealtimeAudioEvent {
  /** Raw bytes in the session's output format. */
  readonly chunk: Buffer;
  readonly itemId: string;
  readonly responseId: string;
}

export interface RealtimeTranscriptEvent {
  readonly role: 'user' | 'agent';
  /**
   * The whole text so far when `final` is false (each partial replaces the previous one); the
   * whole utterance when true — exactly one final per item (transcript-assembler.ts).
   */
  readonly text: string;
  readonly final: boolean;
  readonly itemId: string;
}

/** `response.done` usage (seen live): what one response cost. */
export interface ResponseUsage {
  /** Audio of this response. */
  readonly outputAudioSeconds: number;
  /** Billable audio of the whole session so far (cumulative on the service, not per response). */
  readonly sessionBillableAudioSeconds: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface RealtimeFunctionCall {
  readonly callId: string;
  readonly name: string;
  /** JSON text as the model produced it; parse and validate before use. */
  readonly arguments: string;
}

export type RealtimeCloseReason = 'client' | 'connection_lost' | 'reconnect_failed' | 'fatal_error';

export interface RealtimeSessionEvents {
  audio: [RealtimeAudioEvent];
  speech_started: [{ audioStartMs: number; itemId: string }];
  speech_stopped: [{ audioEndMs: number; itemId: string }];
  response_started: [{ responseId: string }];
  response_done: [{ responseId: string; status: string; usage?: ResponseUsage }];
  /**
   * The service ended the session (error type timeout / max_duration, or it closed mid-call) and
   * a new one took over, seeded with the conversation so far as text (not re-spoken).
   */
  renewed: [{ reason: string }];
  transcript: [RealtimeTranscriptEvent];
  function_call: [RealtimeFunctionCall];
  error: [RealtimeError];
  reconnected: [];
  closed: [{ reason: RealtimeCloseReason; code?: number; message?: string }];
}

export interface RealtimeSessionStats {
  eventsIn: number;
  unknownEvents: number;
  malformedEvents: number;
  audioBytesIn: number;
  audioBytesOut: number;
  droppedAudioBytes: number;
  duplicateFunctionCalls: number;
  /** Sessions the service ended (timeout, max_duration) that a new one took over. */
  renewals: number;
  /** Over the function-call rate (socket-limits.ts): not passed on. */
  droppedFunctionCalls: number;
  reconnects: number;
}

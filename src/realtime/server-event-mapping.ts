// What each realtime server event means for the call: the one place that maps the Grok voice
// protocol's server events (server-events.ts) onto the session's typed events
// (realtime-session-types.ts). The socket, reconnects and sending stay in realtime-session.ts.
import { classifyServerError, type RealtimeError } from './error-classification.js';
import type { RealtimeSessionEvents, ResponseUsage } from './realtime-session-types.js';
import type { ServerEvent, ServerEventOf } from './server-events.js';

/** What the mapping asks of the session it serves. */
export interface ServerEventSink {
  emit<K extends keyof RealtimeSessionEvents>(name: K, ...args: RealtimeSessionEvents[K]): void;
  responseStarted(responseId: string): void;
  responseDone(responseId: string): void;
  speechStarted(): void;
  userTranscript(itemId: string, text: string, stage: 'delta' | 'partial' | 'completed'): void;
  agentTranscript(itemId: string, text: string, stage: 'delta' | 'done'): void;
  audioBytesIn(bytes: number): void;
  functionCall(callId: string, name: string, args: string): void;
  serverError(error: RealtimeError): void;
  sessionUpdated(session: Record<string, unknown>): void;
}

export function mapServerEvent(event: ServerEvent, sink: ServerEventSink): void {
  switch (event.type) {
    case 'input_audio_buffer.speech_started':
      sink.speechStarted();
      return sink.emit('speech_started', { audioStartMs: event.audio_start_ms, itemId: event.item_id });
    case 'input_audio_buffer.speech_stopped':
      return sink.emit('speech_stopped', { audioEndMs: event.audio_end_ms, itemId: event.item_id });
    case 'conversation.item.input_audio_transcription.delta':
      return sink.userTranscript(event.item_id, event.delta, 'delta');
    case 'conversation.item.input_audio_transcription.updated':
      return sink.userTranscript(event.item_id, event.transcript, 'partial');
    case 'conversation.item.input_audio_transcription.completed':
      // Live: a `.completed` may still be in progress, and may come more than once per item.
      return sink.userTranscript(
        event.item_id,
        event.transcript,
        event.status === 'in_progress' ? 'partial' : 'completed',
      );
    case 'response.created':
      sink.responseStarted(event.response.id);
      return sink.emit('response_started', { responseId: event.response.id });
    case 'response.output_audio.delta': {
      const chunk = Buffer.from(event.delta, 'base64');
      sink.audioBytesIn(chunk.length);
      if (chunk.length === 0) return;
      return sink.emit('audio', { chunk, itemId: event.item_id, responseId: event.response_id });
    }
    case 'response.output_audio_transcript.delta':
      return sink.agentTranscript(event.item_id, event.delta, 'delta');
    case 'response.output_audio_transcript.done':
      return sink.agentTranscript(event.item_id, event.transcript, 'done');
    case 'response.function_call_arguments.done':
      return sink.functionCall(event.call_id, event.name, event.arguments);
    case 'response.output_item.done':
      if (event.item.type === 'function_call' && event.item.call_id !== undefined) {
        sink.functionCall(event.item.call_id, event.item.name ?? '', event.item.arguments ?? '{}');
      }
      return;
    case 'response.done':
      for (const item of event.response.output ?? []) {
        if (item.type === 'function_call' && item.call_id !== undefined && item.status !== 'incomplete') {
          sink.functionCall(item.call_id, item.name ?? '', item.arguments ?? '{}');
        }
      }
      sink.responseDone(event.response.id);
      return sink.emit('response_done', {
        responseId: event.response.id,
        status: event.response.status,
        ...usageOf(event.usage, event.response.usage),
      });
    case 'error':
      return sink.serverError(classifyServerError(event.error));
    case 'session.updated':
      return sink.sessionUpdated(event.session);
    default:
      // ping, item/part framing, committed/cleared: nothing to do (ping: xAI keep-alive).
      return;
  }
}

type UsageJson = NonNullable<ServerEventOf<'response.done'>['usage']>;

/**
 * The usage of a response.done: the top-level `usage` (live), else `response.usage` when it
 * has numbers. `billable_audio_seconds` is cumulative for the session (a live capture: 5.134 s of
 * audio, 3 billable), so it is passed on as the session total, not a per-response amount.
 */
function usageOf(top: UsageJson | undefined, nested: UsageJson | undefined): { usage?: ResponseUsage } {
  const has = (u: UsageJson | undefined): u is UsageJson =>
    u !== undefined && Object.values(u).some((v) => typeof v === 'number');
  const u = has(top) ? top : has(nested) ? nested : undefined;
  if (u === undefined) return {};
  return {
    usage: {
      outputAudioSeconds: u.output_audio_seconds ?? 0,
      sessionBillableAudioSeconds: u.billable_audio_seconds ?? 0,
      inputTokens: u.input_tokens ?? 0,
      outputTokens: u.output_tokens ?? 0,
    },
  };
}

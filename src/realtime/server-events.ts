// Server → client events of the Grok voice protocol that we act on, validated at the edge.
// Certainty of each name/field (C = seen in code talking to Grok, I = OpenAI Realtime GA schema):
// see docs/realtime.md. Objects are loose: fields we do not read pass through unchecked.
import { z } from 'zod';

const id = z.string();
const item = z.looseObject({
  id: id,
  type: z.string(),
  status: z.string().optional(),
  role: z.string().optional(),
  call_id: z.string().optional(),
  name: z.string().optional(),
  arguments: z.string().optional(),
});
// Any field may be null on the live service (code that talks to Grok); a null message is ''.
const errorBody = z.looseObject({
  type: z.string().nullish(),
  code: z.string().nullish(),
  message: z
    .string()
    .nullish()
    .transform((m) => m ?? ''),
  param: z.string().nullish(),
  event_id: z.string().nullish(),
});
/** `response.done` usage (seen live): what the response cost. */
const usage = z.looseObject({
  output_audio_seconds: z.number().nonnegative().optional(),
  billable_audio_seconds: z.number().nonnegative().optional(),
  input_tokens: z.number().nonnegative().optional(),
  output_tokens: z.number().nonnegative().optional(),
  total_tokens: z.number().nonnegative().optional(),
});

export const serverEventSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('conversation.created'), conversation: z.looseObject({}).optional() }),
  // OpenAI's greeting; accepted in place of conversation.created.
  z.looseObject({ type: z.literal('session.created'), session: z.looseObject({}).optional() }),
  z.looseObject({ type: z.literal('session.updated'), session: z.looseObject({}) }),
  z.looseObject({ type: z.literal('ping') }),
  z.looseObject({
    type: z.literal('input_audio_buffer.speech_started'),
    audio_start_ms: z.number().default(0),
    item_id: id.default(''),
  }),
  z.looseObject({
    type: z.literal('input_audio_buffer.speech_stopped'),
    audio_end_ms: z.number().default(0),
    item_id: id.default(''),
  }),
  z.looseObject({ type: z.literal('input_audio_buffer.committed'), item_id: id.optional() }),
  z.looseObject({ type: z.literal('input_audio_buffer.cleared') }),
  z.looseObject({ type: z.literal('conversation.item.added'), item: item }),
  z.looseObject({ type: z.literal('conversation.item.created'), item: item }),
  z.looseObject({ type: z.literal('conversation.item.done'), item: item }),
  z.looseObject({
    type: z.literal('conversation.item.input_audio_transcription.delta'),
    item_id: id.default(''),
    delta: z.string(),
  }),
  // Live: partials are `.updated` with the whole text so far (only when the session enables
  // transcription); `.completed` may say `status: "in_progress"` and come more than once per item.
  z.looseObject({
    type: z.literal('conversation.item.input_audio_transcription.updated'),
    item_id: id.default(''),
    transcript: z.string(),
  }),
  z.looseObject({
    type: z.literal('conversation.item.input_audio_transcription.completed'),
    item_id: id.default(''),
    transcript: z.string(),
    status: z.string().optional(),
  }),
  z.looseObject({ type: z.literal('conversation.item.truncated'), item_id: id, audio_end_ms: z.number() }),
  z.looseObject({
    type: z.literal('response.created'),
    response: z.looseObject({ id: id, status: z.string().optional() }),
  }),
  z.looseObject({ type: z.literal('response.output_item.added'), response_id: id.default(''), item: item }),
  z.looseObject({ type: z.literal('response.output_item.done'), response_id: id.default(''), item: item }),
  z.looseObject({ type: z.literal('response.content_part.added') }),
  z.looseObject({ type: z.literal('response.content_part.done') }),
  z.looseObject({
    type: z.literal('response.output_audio.delta'),
    response_id: id.default(''),
    item_id: id.default(''),
    delta: z.string(),
  }),
  z.looseObject({ type: z.literal('response.output_audio.done'), item_id: id.optional() }),
  z.looseObject({
    type: z.literal('response.output_audio_transcript.delta'),
    item_id: id.default(''),
    delta: z.string(),
  }),
  z.looseObject({
    type: z.literal('response.output_audio_transcript.done'),
    item_id: id.default(''),
    transcript: z.string().default(''),
  }),
  z.looseObject({ type: z.literal('response.function_call_arguments.delta') }),
  z.looseObject({
    type: z.literal('response.function_call_arguments.done'),
    call_id: id,
    name: z.string().default(''),
    arguments: z.string().default('{}'),
    item_id: id.optional(),
    response_id: id.optional(),
  }),
  z.looseObject({
    type: z.literal('response.done'),
    response: z.looseObject({
      id: id,
      status: z.string().default('completed'),
      output: z.array(item).optional(),
      usage: usage.optional().catch(undefined),
    }),
    // Live: the numbers are in a top-level `usage` (`response.usage` is `{}`).
    usage: usage.optional().catch(undefined),
  }),
  z.looseObject({ type: z.literal('error'), error: errorBody }),
]);

export type ServerEvent = z.output<typeof serverEventSchema>;
export type ServerEventType = ServerEvent['type'];
export type ServerEventOf<T extends ServerEventType> = Extract<ServerEvent, { type: T }>;
export type RealtimeErrorBody = z.output<typeof errorBody>;

/**
 * Beta-era names (OpenAI Realtime beta; a scrape of the xAI voice guide lists them) mapped to the
 * GA names that code talking to Grok uses. Accepting both costs nothing if one is never sent.
 */
const typeAliases: Readonly<Record<string, ServerEventType>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
};

const knownTypes = new Set<string>(serverEventSchema.options.map((o) => o.shape.type.value));

export type ParsedServerMessage =
  | { kind: 'event'; event: ServerEvent }
  /** Valid JSON with a `type` we do not handle: ignore (logged at debug). */
  | { kind: 'unknown'; type: string }
  /** Not JSON, not an object, no `type`, or a known type with wrong fields. */
  | { kind: 'malformed'; reason: string; type?: string };

/**
 * A short, bounded reason for a message we drop, for the rejected-input count and its log
 * (logged once per reason: the reason must not carry the server's text, or a flood of distinct
 * garbage would log a line each).
 */
export function droppedMessageReason(parsed: Exclude<ParsedServerMessage, { kind: 'event' }>): string {
  if (parsed.kind === 'unknown') return 'unknown event type';
  if (parsed.type !== undefined) return `invalid ${parsed.type}`;
  return parsed.reason.startsWith('not JSON') ? 'not JSON' : parsed.reason;
}

/** Parses one text frame from the server. Never throws. */
export function parseServerMessage(text: string): ParsedServerMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { kind: 'malformed', reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { kind: 'malformed', reason: 'not a JSON object' };
  }
  const rawType = (json as { type?: unknown }).type;
  if (typeof rawType !== 'string') return { kind: 'malformed', reason: 'no string "type" field' };
  const type = typeAliases[rawType] ?? rawType;
  if (!knownTypes.has(type)) return { kind: 'unknown', type: rawType };
  const result = serverEventSchema.safeParse(type === rawType ? json : { ...json, type });
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
    return { kind: 'malformed', type: rawType, reason: `${rawType} ${where}` };
  }
  return { kind: 'event', event: result.data };
}

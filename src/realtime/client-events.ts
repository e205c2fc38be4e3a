// Client → server events of the Grok voice protocol. The client builds them from these types;
// the local agent validates what it receives with the same schemas, so both sides agree.
import { z } from 'zod';

const formatJson = z.union([
  z.strictObject({ type: z.literal('audio/pcmu') }),
  z.strictObject({ type: z.literal('audio/pcma') }),
  z.strictObject({ type: z.literal('audio/pcm'), rate: z.number().int().min(8000).max(48000).optional() }),
]);

const sessionJson = z.looseObject({
  voice: z.string().optional(),
  instructions: z.string().optional(),
  turn_detection: z
    .union([
      z.looseObject({
        type: z.literal('server_vad'),
        threshold: z.number().min(0).max(1).optional(),
        silence_duration_ms: z.number().int().min(0).optional(),
        prefix_padding_ms: z.number().int().min(0).optional(),
      }),
      // No VAD, as the live service spells it.
      z.looseObject({ type: z.null() }),
    ])
    .nullable()
    .optional(),
  audio: z
    .looseObject({
      input: z.looseObject({ format: formatJson.optional() }).optional(),
      output: z.looseObject({ format: formatJson.optional() }).optional(),
    })
    .optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
});

const eventId = z.string().optional();

export const clientEventSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('session.update'), event_id: eventId, session: sessionJson }),
  z.looseObject({ type: z.literal('input_audio_buffer.append'), event_id: eventId, audio: z.string() }),
  z.looseObject({ type: z.literal('input_audio_buffer.commit'), event_id: eventId }),
  z.looseObject({ type: z.literal('input_audio_buffer.clear'), event_id: eventId }),
  z.looseObject({
    type: z.literal('conversation.item.create'),
    event_id: eventId,
    item: z.discriminatedUnion('type', [
      z.looseObject({
        type: z.literal('message'),
        role: z.literal('user'),
        content: z.array(z.looseObject({ type: z.literal('input_text'), text: z.string() })).min(1),
      }),
      z.looseObject({ type: z.literal('function_call_output'), call_id: z.string(), output: z.string() }),
    ]),
  }),
  z.looseObject({
    type: z.literal('response.create'),
    event_id: eventId,
    response: z.looseObject({ instructions: z.string().optional() }).optional(),
  }),
  z.looseObject({ type: z.literal('response.cancel'), event_id: eventId }),
  z.looseObject({
    type: z.literal('conversation.item.truncate'),
    event_id: eventId,
    item_id: z.string(),
    content_index: z.number().int().min(0),
    audio_end_ms: z.number().int().min(0),
  }),
]);

export type ClientEvent = z.output<typeof clientEventSchema>;
export type ClientEventType = ClientEvent['type'];
export type ClientEventOf<T extends ClientEventType> = Extract<ClientEvent, { type: T }>;

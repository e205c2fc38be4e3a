// Scripted behaviour of the local agent: the faults and features tests need from a realtime
// server (function calls, errors, drops, garbage, long answers, a stalled handshake). A script
// is plain JSON so the standalone agent can load one from a file.
import { z } from 'zod';

export const handshakeModes = ['normal', 'stall', 'greeting-only', 'no-greeting'] as const;
/**
 * normal: conversation.created, then session.updated for each session.update.
 * stall: accept the upgrade, then say nothing. greeting-only: conversation.created, never
 * session.updated. no-greeting: skip conversation.created (the client must send first).
 */
export type HandshakeMode = (typeof handshakeModes)[number];

const step = z.discriminatedUnion('kind', [
  /** Echo the caller's utterance (the default for a turn with no script entry). */
  z.strictObject({ kind: z.literal('echo') }),
  /** A tone of `durationMs` with `text` as its transcript. */
  z.strictObject({
    kind: z.literal('say'),
    text: z.string(),
    durationMs: z.number().int().min(10).max(600_000).default(300),
  }),
  z.strictObject({
    kind: z.literal('function_call'),
    name: z.string().min(1),
    arguments: z.string().default('{}'),
    callId: z.string().min(1).optional(),
    /** Repeats response.function_call_arguments.done; the call also rides on output_item.done and response.done. */
    announceTimes: z.number().int().min(1).max(10).default(2),
  }),
  /** An `error` event; the live service may send any of its fields null. */
  z.strictObject({
    kind: z.literal('error'),
    code: z.string().nullable(),
    message: z.string().nullable(),
    errorType: z.string().nullable().default('invalid_request_error'),
    param: z.string().nullable().default(null),
    /** The client event the error answers (`error.event_id`). */
    eventId: z.string().nullable().default(null),
  }),
  /**
   * The service ends the session `afterMs` after the step runs: an `error` of type `reason`
   * (`max_duration` or `timeout`, as live), then the socket closes with `closeCode`.
   */
  z.strictObject({
    kind: z.literal('end_session'),
    reason: z.enum(['max_duration', 'timeout']).default('max_duration'),
    afterMs: z.number().int().min(0).max(86_400_000).default(0),
    /** Default: a message naming the reason. */
    message: z.string().nullable().optional(),
    code: z.string().nullable().default(null),
    closeCode: z.number().int().min(1000).max(4999).default(1000),
  }),
  /** Drop the connection: with `closeCode` a close frame, without it a TCP reset (terminate). */
  z.strictObject({
    kind: z.literal('disconnect'),
    closeCode: z.number().int().min(1000).max(4999).optional(),
  }),
  /** Not-JSON text, a binary frame, JSON that is no event, a known event with bad fields. */
  z.strictObject({ kind: z.literal('bad_json') }),
  z.strictObject({ kind: z.literal('unknown_event') }),
  z.strictObject({ kind: z.literal('ping') }),
  z.strictObject({ kind: z.literal('long_response'), durationMs: z.number().int().min(10).max(600_000) }),
  /** Start a 2 s answer, send `afterMs` of it, then reset the connection. */
  z.strictObject({
    kind: z.literal('close_mid_response'),
    afterMs: z.number().int().min(0).max(1900).default(100),
  }),
]);

export const localAgentScriptSchema = z.strictObject({
  /** One mode for every connection, or one per connection in order (the last one repeats). */
  handshake: z.union([z.enum(handshakeModes), z.array(z.enum(handshakeModes)).min(1)]).default('normal'),
  /** Run once, after the first connection's first session.updated. */
  afterHandshake: z.array(step).default([]),
  /** One entry per user turn (VAD stop, commit, text, or a bare response.create); then echo. */
  turns: z.array(z.union([step, z.array(step)])).default([]),
});

export type ScriptStep = z.output<typeof step>;
export type ScriptStepInput = z.input<typeof step>;
export type LocalAgentScript = z.output<typeof localAgentScriptSchema>;
export type LocalAgentScriptInput = z.input<typeof localAgentScriptSchema>;

export function parseScriptStep(value: ScriptStepInput): ScriptStep {
  return step.parse(value);
}

export function handshakeModeFor(script: LocalAgentScript, connectionIndex: number): HandshakeMode {
  if (typeof script.handshake === 'string') return script.handshake;
  return script.handshake[Math.min(connectionIndex, script.handshake.length - 1)]!;
}

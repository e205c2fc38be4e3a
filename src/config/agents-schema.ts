// Schema of the `agents` section: profiles, routes and the default profile. The `error` text of
// each leaf is the "expected …" half of the message a user sees.
import { z } from 'zod';
import {
  AGENT_AUDIO_FORMATS,
  VOICES,
  WEBHOOK_EVENTS,
  type AgentProfile,
  type AgentTool,
} from '../call/agent-profile.js';

const httpUrl = z
  .string({ error: 'an http:// or https:// URL' })
  .regex(/^https?:\/\/[^\s/]+/i, { error: 'an http:// or https:// URL' });
const sipUri = z
  .string({ error: 'a sip: or sips: URI' })
  .regex(/^sips?:[^\s]+$/i, { error: 'a sip: or sips: URI' });
const name = z
  .string({ error: 'a name of letters, digits, "-" or "_"' })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'a name of letters, digits, "-" or "_"' });

const webhookTarget = {
  url: httpUrl,
  headers: z
    .record(z.string(), z.string({ error: 'a string' }), { error: 'a map of header names to strings' })
    .default({}),
  timeoutMs: z.number({ error: 'an integer 100–60000' }).int().min(100).max(60000).default(5000),
};

const tool = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('web_search') }),
    z.strictObject({ type: z.literal('x_search') }),
    z.strictObject({
      type: z.literal('file_search'),
      vectorStoreIds: z
        .array(z.string(), { error: 'a list of collection ids' })
        .min(1, { error: 'at least one id' }),
    }),
    z.strictObject({ type: z.literal('end_call') }),
    z.strictObject({
      type: z.literal('transfer'),
      targets: z.record(name, sipUri, { error: 'a map of target names to sip: URIs' }),
    }),
    z.strictObject({ type: z.literal('send_dtmf') }),
    z.strictObject({
      type: z.literal('function'),
      name: z
        .string({ error: 'a function name of letters, digits and "_"' })
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { error: 'a function name of letters, digits and "_"' }),
      description: z.string({ error: 'a string' }),
      parameters: z
        .record(z.string(), z.unknown(), { error: 'a JSON Schema object' })
        .default({ type: 'object', properties: {} }),
      webhook: z.strictObject(webhookTarget, { error: 'a webhook {url, headers?, timeoutMs?}' }),
    }),
  ],
  {
    error: 'a tool with type web_search, x_search, file_search, end_call, transfer, send_dtmf or function',
  },
);

export const agentProfileSchema = z.strictObject({
  name,
  // Voice ids are case-insensitive on the service (`ara`, `Ara`); the canonical form is kept.
  voice: z
    .preprocess(
      (v) => (typeof v === 'string' ? (VOICES.find((x) => x.toLowerCase() === v.toLowerCase()) ?? v) : v),
      z.enum(VOICES, { error: `one of ${VOICES.join(', ')} (any case)` }),
    )
    .default('Ara'),
  // Caller transcription (transcripts, webhooks, CDR): the live service sends none unless asked.
  transcription: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          model: z
            .string({ error: 'a model name' })
            .min(1, { error: 'a model name' })
            .default('grok-transcribe'),
          languageHint: z
            .string({ error: 'a language code like en or de' })
            .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$/, { error: 'a language code like en or de' })
            .optional(),
        }),
      ],
      { error: 'false, or {model, languageHint?}' },
    )
    .default({ model: 'grok-transcribe' }),
  // Server VAD tuning, in the ranges the service accepts; absent fields keep its defaults.
  vad: z
    .strictObject({
      threshold: z
        .number({ error: 'a number 0.1–0.9' })
        .min(0.1, { error: 'a number 0.1–0.9' })
        .max(0.9, { error: 'a number 0.1–0.9' })
        .optional(),
      silenceDurationMs: z.number({ error: 'an integer 0–10000' }).int().min(0).max(10_000).optional(),
      prefixPaddingMs: z.number({ error: 'an integer 0–10000' }).int().min(0).max(10_000).optional(),
    })
    .optional(),
  instructions: z.string({ error: 'a string' }).min(1, { error: 'a non-empty string' }),
  greeting: z.string({ error: 'a string' }).optional(),
  tools: z.array(tool, { error: 'a list of tools' }).default([]),
  audioFormat: z
    .enum(AGENT_AUDIO_FORMATS, { error: `one of ${AGENT_AUDIO_FORMATS.join(', ')}` })
    .default('auto'),
  webhooks: z
    .array(
      z.strictObject({
        ...webhookTarget,
        events: z
          .array(z.enum(WEBHOOK_EVENTS, { error: `one of ${WEBHOOK_EVENTS.join(', ')}` }))
          .min(1, { error: 'at least one event' })
          .default([...WEBHOOK_EVENTS]),
      }),
      { error: 'a list of webhooks' },
    )
    .optional(),
});

/**
 * Route patterns (first match in config order wins): `4000` exact, `4*` prefix, `*` anything,
 * `/^4\d{3}$/` a regular expression.
 */
const routeMatch = z
  .string({ error: 'an exact user, a prefix ending in "*", or /regex/' })
  .min(1, { error: 'an exact user, a prefix ending in "*", or /regex/' })
  .refine(
    (text) => {
      if (!(text.length > 2 && text.startsWith('/') && text.endsWith('/'))) return true;
      try {
        new RegExp(text.slice(1, -1));
        return true;
      } catch {
        return false;
      }
    },
    { error: 'a valid regular expression between slashes' },
  );

export const agentsSchema = z
  .strictObject(
    {
      default: name.optional(),
      profiles: z
        .array(agentProfileSchema, { error: 'a list of agent profiles' })
        .min(1, { error: 'at least one profile' }),
      routes: z
        .array(z.strictObject({ match: routeMatch, agent: name }), { error: 'a list of {match, agent}' })
        .default([]),
    },
    { error: 'an agents section with at least one profile' },
  )
  .superRefine((agents, ctx) => {
    const names = agents.profiles.map((p) => p.name);
    const allowed = `one of ${names.join(', ')}`;
    agents.profiles.forEach((p, i) => {
      if (names.indexOf(p.name) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['profiles', i, 'name'],
          params: { value: p.name },
          message: 'a name not used by another profile',
        });
      }
    });
    if (agents.default !== undefined && !names.includes(agents.default)) {
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        params: { value: agents.default },
        message: allowed,
      });
    }
    agents.routes.forEach((r, i) => {
      if (!names.includes(r.agent)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'agent'],
          params: { value: r.agent },
          message: allowed,
        });
      }
    });
  });

// The config's profile and tool shapes are exactly what the call layer consumes.
type Assignable<T extends U, U> = T;
export type _ProfileCheck = Assignable<z.output<typeof agentProfileSchema>, AgentProfile>;
export type _ToolCheck = Assignable<z.output<typeof tool>, AgentTool>;

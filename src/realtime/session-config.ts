// What we ask of the realtime session (`session.update`), and its JSON. One place, so a field
// name corrected against the live API is a one-line change. Certainty per field: docs/realtime.md.
import { type AudioFormat } from '../audio/audio-format.js';
import { formatToSessionJson, type SessionAudioFormatJson } from './session-audio-format.js';

/** Grok voice presets (xAI voice guide); ids are case-insensitive on the service. */
export const REALTIME_VOICES = ['Ara', 'Rex', 'Sal', 'Eve', 'Leo'] as const;
export type RealtimeVoice = (typeof REALTIME_VOICES)[number];

/** The preset a voice id names, in any case (`ara`, `ARA` → `Ara`); undefined when none. */
export function canonicalVoice(voice: string): RealtimeVoice | undefined {
  return REALTIME_VOICES.find((v) => v.toLowerCase() === voice.toLowerCase());
}

function checkVad(vad: ServerVadConfig): void {
  const [min, max] = VAD_THRESHOLD_RANGE;
  if (vad.threshold !== undefined && !(vad.threshold >= min && vad.threshold <= max)) {
    throw new RangeError(`VAD threshold must be ${min}–${max}, got ${vad.threshold}`);
  }
  for (const [name, ms] of [
    ['silenceDurationMs', vad.silenceDurationMs],
    ['prefixPaddingMs', vad.prefixPaddingMs],
  ] as const) {
    if (ms !== undefined && !(Number.isInteger(ms) && ms >= 0 && ms <= VAD_MAX_MS)) {
      throw new RangeError(`VAD ${name} must be an integer 0–${VAD_MAX_MS}, got ${ms}`);
    }
  }
}

/** Server VAD tuning; absent fields are left to the service's defaults. */
export interface ServerVadConfig {
  /** Activation threshold, 0.1–0.9 (the range code that talks to Grok allows). */
  readonly threshold?: number;
  /** ≤ 10000 ms. */
  readonly silenceDurationMs?: number;
  /** ≤ 10000 ms. */
  readonly prefixPaddingMs?: number;
}

/** The service's VAD tuning ranges (LiveKit's xAI plugin). */
export const VAD_THRESHOLD_RANGE = [0.1, 0.9] as const;
export const VAD_MAX_MS = 10_000;

/**
 * Caller transcription (`audio.input.transcription`): without it the live service sends no
 * caller transcript at all. `languageHint` is sent as `language` (inferred from OpenAI's schema).
 */
export interface TranscriptionConfig {
  readonly model: string;
  readonly languageHint?: string;
}

export type RealtimeTool =
  | { readonly type: 'web_search' }
  | { readonly type: 'x_search' }
  /** xAI "Collections" search; the field name `vector_store_ids` is inferred, not verified. */
  | { readonly type: 'file_search'; readonly vectorStoreIds: readonly string[] }
  | {
      readonly type: 'function';
      readonly name: string;
      readonly description?: string;
      /** JSON Schema of the arguments, passed as is. */
      readonly parameters?: Readonly<Record<string, unknown>>;
    };

export interface RealtimeSessionConfig {
  readonly voice?: RealtimeVoice;
  readonly instructions?: string;
  /** `null` turns server VAD off (`{type: null}`; the client commits turns); absent = server_vad. */
  readonly turnDetection?: ServerVadConfig | null;
  /** Absent or null: no caller transcription asked for. */
  readonly transcription?: TranscriptionConfig | null;
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  readonly tools?: readonly RealtimeTool[];
}

export type ToolJson =
  | { type: 'web_search' }
  | { type: 'x_search' }
  | { type: 'file_search'; vector_store_ids: string[] }
  | { type: 'function'; name: string; description?: string; parameters?: Record<string, unknown> };

export type TurnDetectionJson =
  | { type: 'server_vad'; threshold?: number; silence_duration_ms?: number; prefix_padding_ms?: number }
  /** No VAD, as the live service spells it (not `turn_detection: null`). */
  | { type: null };

export interface SessionJson {
  voice?: string;
  instructions?: string;
  turn_detection?: TurnDetectionJson;
  audio?: {
    input?: { format?: SessionAudioFormatJson; transcription?: { model: string; language?: string } };
    output?: { format?: SessionAudioFormatJson };
  };
  tools?: ToolJson[];
}

export function toolToJson(tool: RealtimeTool): ToolJson {
  switch (tool.type) {
    case 'web_search':
    case 'x_search':
      return { type: tool.type };
    case 'file_search':
      return { type: 'file_search', vector_store_ids: [...tool.vectorStoreIds] };
    case 'function': {
      const json: ToolJson = { type: 'function', name: tool.name };
      if (tool.description !== undefined) json.description = tool.description;
      if (tool.parameters !== undefined) json.parameters = { ...tool.parameters };
      return json;
    }
  }
}

/** The `session` object of `session.update`. Throws TypeError/RangeError on a bad config. */
export function sessionConfigToJson(config: RealtimeSessionConfig): SessionJson {
  const voice = config.voice === undefined ? undefined : canonicalVoice(config.voice);
  if (config.voice !== undefined && voice === undefined) {
    throw new RangeError(
      `voice must be one of ${REALTIME_VOICES.join(', ')} (any case), got ${String(config.voice)}`,
    );
  }
  const json: SessionJson = {};
  if (voice !== undefined) json.voice = voice;
  if (config.instructions !== undefined) json.instructions = config.instructions;
  if (config.turnDetection === null) {
    json.turn_detection = { type: null };
  } else {
    const vad = config.turnDetection ?? {};
    checkVad(vad);
    const td: TurnDetectionJson = { type: 'server_vad' };
    if (vad.threshold !== undefined) td.threshold = vad.threshold;
    if (vad.silenceDurationMs !== undefined) td.silence_duration_ms = vad.silenceDurationMs;
    if (vad.prefixPaddingMs !== undefined) td.prefix_padding_ms = vad.prefixPaddingMs;
    json.turn_detection = td;
  }
  const transcription = config.transcription ?? undefined;
  json.audio = {
    input: {
      format: formatToSessionJson(config.inputFormat),
      ...(transcription !== undefined && {
        transcription: {
          model: transcription.model,
          ...(transcription.languageHint !== undefined && { language: transcription.languageHint }),
        },
      }),
    },
    output: { format: formatToSessionJson(config.outputFormat) },
  };
  if (config.tools !== undefined && config.tools.length > 0) json.tools = config.tools.map(toolToJson);
  return json;
}

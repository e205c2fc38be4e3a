// What we ask of the realtime session (`session.update`), and its JSON. One place, so a field
// name corrected against the live API is a one-line change. Certainty per field: docs/realtime.md.
import { type AudioFormat } from '../audio/audio-format.js';
import { formatToSessionJson, type SessionAudioFormatJson } from './session-audio-format.js';

/** Grok voice presets (xAI voice guide). */
export const REALTIME_VOICES = ['Ara', 'Rex', 'Sal', 'Eve', 'Leo'] as const;
export type RealtimeVoice = (typeof REALTIME_VOICES)[number];

/** Server VAD tuning; absent fields are left to the service's defaults. */
export interface ServerVadConfig {
  /** Activation threshold, 0..1 (OpenAI Realtime schema; inferred for Grok). */
  readonly threshold?: number;
  readonly silenceDurationMs?: number;
  readonly prefixPaddingMs?: number;
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
  /** `null` turns server VAD off (then the client commits turns itself); absent = server_vad. */
  readonly turnDetection?: ServerVadConfig | null;
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  readonly tools?: readonly RealtimeTool[];
}

export type ToolJson =
  | { type: 'web_search' }
  | { type: 'x_search' }
  | { type: 'file_search'; vector_store_ids: string[] }
  | { type: 'function'; name: string; description?: string; parameters?: Record<string, unknown> };

export interface TurnDetectionJson {
  type: 'server_vad';
  threshold?: number;
  silence_duration_ms?: number;
  prefix_padding_ms?: number;
}

export interface SessionJson {
  voice?: string;
  instructions?: string;
  turn_detection?: TurnDetectionJson | null;
  audio?: { input?: { format?: SessionAudioFormatJson }; output?: { format?: SessionAudioFormatJson } };
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
  if (config.voice !== undefined && !REALTIME_VOICES.includes(config.voice)) {
    throw new RangeError(`voice must be one of ${REALTIME_VOICES.join(', ')}, got ${String(config.voice)}`);
  }
  const json: SessionJson = {};
  if (config.voice !== undefined) json.voice = config.voice;
  if (config.instructions !== undefined) json.instructions = config.instructions;
  if (config.turnDetection === null) {
    json.turn_detection = null;
  } else {
    const vad = config.turnDetection ?? {};
    const td: TurnDetectionJson = { type: 'server_vad' };
    if (vad.threshold !== undefined) td.threshold = vad.threshold;
    if (vad.silenceDurationMs !== undefined) td.silence_duration_ms = vad.silenceDurationMs;
    if (vad.prefixPaddingMs !== undefined) td.prefix_padding_ms = vad.prefixPaddingMs;
    json.turn_detection = td;
  }
  json.audio = {
    input: { format: formatToSessionJson(config.inputFormat) },
    output: { format: formatToSessionJson(config.outputFormat) },
  };
  if (config.tools !== undefined && config.tools.length > 0) json.tools = config.tools.map(toolToJson);
  return json;
}

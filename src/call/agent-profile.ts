// What the agent on a call is: voice, instructions, greeting, tools and the audio format asked of
// the realtime API. Chosen per call by routing (dialled user → profile); validated once by the
// config loader, trusted here.

/** Grok voice presets (docs.x.ai voice guide). */
export const VOICES = ['Ara', 'Rex', 'Sal', 'Eve', 'Leo'] as const;
export type Voice = (typeof VOICES)[number];

/**
 * Audio format asked of the realtime API. `auto` passes the call's G.711 codec straight through
 * (zero transcode); `pcm16`/`pcm24` ask for 16-bit PCM at 16/24 kHz and transcode on our side
 * (wideband legs, or when pass-through sounds worse to the ASR).
 */
export const AGENT_AUDIO_FORMATS = ['auto', 'pcmu', 'pcma', 'pcm16', 'pcm24'] as const;
export type AgentAudioFormat = (typeof AGENT_AUDIO_FORMATS)[number];

/** Call events a profile's webhook can receive. */
export const WEBHOOK_EVENTS = ['call.started', 'call.answered', 'call.ended', 'transcript', 'dtmf'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookTarget {
  readonly url: string;
  /** Extra request headers (e.g. an API token); values may come from `${ENV}` references. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** Tools the model may call. Server-side (xAI) tools run at xAI; the others run here. */
export type AgentTool =
  | { readonly type: 'web_search' }
  | { readonly type: 'x_search' }
  | { readonly type: 'file_search'; readonly vectorStoreIds: readonly string[] }
  /** Hang up after the farewell has played (BYE once the playout queue drains). */
  | { readonly type: 'end_call' }
  /** Blind transfer by REFER to one of the named targets (SIP URIs). */
  | { readonly type: 'transfer'; readonly targets: Readonly<Record<string, string>> }
  /** Send RFC 4733 DTMF digits, e.g. to navigate an IVR on an outbound call. */
  | { readonly type: 'send_dtmf' }
  /** A custom function answered by an HTTP POST of the arguments to a webhook. */
  | {
      readonly type: 'function';
      readonly name: string;
      readonly description: string;
      /** JSON Schema of the arguments, passed to the model as is. */
      readonly parameters: Readonly<Record<string, unknown>>;
      readonly webhook: WebhookTarget;
    }
  /** A function answered in this process (the library's `tools`); never from the config file. */
  | {
      readonly type: 'in_process';
      readonly name: string;
      readonly description: string;
      readonly parameters: Readonly<Record<string, unknown>>;
      readonly run: InProcessFunction;
    };

/** What an in-process function gets besides its arguments: the call it runs for. */
export interface InProcessCall {
  readonly callId: string;
  /** Hang up once the agent's current words have played. */
  hangup(): void;
  /** Blind transfer (REFER); the agent leaves first. */
  transfer(targetUri: string): Promise<{ accepted: boolean; status: number; reason: string }>;
  sendDtmf(digits: string): Promise<void>;
}

/** Its result is JSON-serialised for the model; a throw becomes `{"error": message}`. */
export type InProcessFunction = (
  args: Record<string, unknown>,
  call: InProcessCall,
) => Promise<unknown> | unknown;

export interface AgentProfile {
  readonly name: string;
  readonly voice: Voice;
  readonly instructions: string;
  /** Spoken first on an inbound call; absent = wait for the caller. */
  readonly greeting?: string;
  readonly tools: readonly AgentTool[];
  readonly audioFormat: AgentAudioFormat;
  /** Caller transcription asked of the service; false = none (default grok-transcribe). */
  readonly transcription?: { readonly model: string; readonly languageHint?: string } | false;
  /** Server VAD tuning (threshold 0.1–0.9, times ≤ 10000 ms); absent = the service's defaults. */
  readonly vad?: {
    readonly threshold?: number;
    readonly silenceDurationMs?: number;
    readonly prefixPaddingMs?: number;
  };
  /** Call lifecycle notifications (CDR-like), POSTed as JSON. */
  readonly webhooks?: readonly (WebhookTarget & { readonly events: readonly WebhookEvent[] })[];
}

/** The realtime API audio format for a call, given the profile's preference and the call codec. */
export function realtimeAudioFormat(
  profile: Pick<AgentProfile, 'audioFormat'>,
  callCodec: 'PCMU' | 'PCMA',
): 'pcmu' | 'pcma' | 'pcm16' | 'pcm24' {
  if (profile.audioFormat !== 'auto') return profile.audioFormat;
  return callCodec === 'PCMU' ? 'pcmu' : 'pcma';
}

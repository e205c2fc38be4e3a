// How closely the local agent copies the live service's wire shapes (shared/notes/xai-realtime.md,
// "What later evidence showed"): the greeting, the flat session.updated, caller transcription,
// the extra fields on audio deltas and response.done, a slow cancel, a session the service ends.
// The defaults are the live service as far as we know it (`strictLiveShape` names them all); a test
// that wants the agent's earlier behaviour asks for it (e.g. callerTranscripts: 'always').

export interface LiveShape {
  /**
   * live: `session.created` → `conversation.created` → `ping {timestamp}` (the recorded order);
   * classic: `conversation.created` only. Default live.
   */
  readonly greeting: 'live' | 'classic';
  /** A `ping {timestamp}` this often after the greeting; 0 = none. Default 10000 (the live period is unknown). */
  readonly pingIntervalMs: number;
  /**
   * flat: `session.updated` as recorded live (`input_audio_format: "not specified"`, …, no
   * `audio` echo); nested: the session as sent plus `audio.*.format` (this agent before). Default flat.
   */
  readonly sessionUpdated: 'flat' | 'nested';
  /**
   * When the session does not enable `audio.input.transcription`: `when-enabled` sends no caller
   * transcript at all (live); `always` sends one `.completed` `[caller 1.2 s]` per turn whether
   * asked or not (the agent's earlier behaviour). Default when-enabled.
   */
  readonly callerTranscripts: 'when-enabled' | 'always';
  /** With transcription on: one `.updated` (whole text so far) per this much caller speech. Default 200. */
  readonly transcriptPartialMs: number;
  /**
   * With transcription on: a `.completed` with `status: "in_progress"` before the final one, and
   * the final one repeated once the answer has started (LiveKit's tests). Default false.
   */
  readonly repeatedCompleted: boolean;
  /** `audio_duration_ms`, `ts`, `latency`, `rid` on every output delta. Default true. */
  readonly deltaExtras: boolean;
  /** `response.done` with top-level `usage` (and `response.usage: {}`), as recorded live. Default true. */
  readonly usage: boolean;
  /**
   * After a cancel (`response.cancel`, or the caller speaking over the answer) keep streaming the
   * answer's deltas this long before stopping it, as a slow server does. 0 = stop at once (default).
   */
  readonly cancelLagMs: number;
  /** End every session this long after the upgrade: error `max_duration`, then close. 0 = never (default). */
  readonly maxSessionMs: number;
  /**
   * Turn detection before the session sets one. live: none (`session.created` says
   * `turn_detection: {type: null}`); server_vad: this agent before. Default live.
   */
  readonly initialTurnDetection: 'none' | 'server_vad';
  /** Reported as `model` when the URL has no `?model=`. */
  readonly model: string;
}

export const defaultLiveShape: LiveShape = {
  greeting: 'live',
  pingIntervalMs: 10_000,
  sessionUpdated: 'flat',
  callerTranscripts: 'when-enabled',
  transcriptPartialMs: 200,
  repeatedCompleted: false,
  deltaExtras: true,
  usage: true,
  cancelLagMs: 0,
  maxSessionMs: 0,
  initialTurnDetection: 'none',
  model: 'grok-voice-think-fast-2.0',
};

/** Everything as the live service does it (as far as public code and one recorded session show). */
export const strictLiveShape: LiveShape = { ...defaultLiveShape, callerTranscripts: 'when-enabled' };

/** `true` = strictLiveShape; an object overrides the defaults. */
export type LiveShapeInput = true | Partial<LiveShape>;

export function resolveLiveShape(input: LiveShapeInput | undefined): LiveShape {
  if (input === true) return strictLiveShape;
  const shape = { ...defaultLiveShape, ...input };
  for (const key of ['pingIntervalMs', 'transcriptPartialMs', 'cancelLagMs', 'maxSessionMs'] as const) {
    const value = shape[key];
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`live.${key} must be ≥ 0, got ${value}`);
  }
  if (shape.transcriptPartialMs === 0) throw new RangeError('live.transcriptPartialMs must be > 0');
  return shape;
}

/** The live service's voice ids: `Ara`, `ara` → `xai_ara`; an `xai_` id stays as it is. */
export function liveVoiceId(voice: string | undefined): string {
  if (voice === undefined || voice === '') return 'xai_ara';
  const lower = voice.toLowerCase();
  return lower.startsWith('xai_') ? lower : `xai_${lower}`;
}

/** What a session has asked for so far (session.update is a partial update). */
export interface SessionState {
  voice: string | undefined;
  instructions: string;
  tools: unknown[];
  /** As the client sent it; `{type: null}` when VAD is off. */
  turnDetection: Record<string, unknown>;
  /** `audio.input.transcription` as sent, or null. */
  transcription: Record<string, unknown> | null;
  /** Flat `*_audio_format` strings the client sent, if any. */
  inputAudioFormat: string | undefined;
  outputAudioFormat: string | undefined;
  keepContext: boolean;
  enableNoiseSuppression: boolean;
  temperature: number;
}

export function initialSessionState(shape: LiveShape): SessionState {
  return {
    voice: undefined,
    instructions: '',
    tools: [],
    turnDetection: shape.initialTurnDetection === 'none' ? { type: null } : { type: 'server_vad' },
    transcription: null,
    inputAudioFormat: undefined,
    outputAudioFormat: undefined,
    keepContext: true,
    enableNoiseSuppression: false,
    temperature: 0.8,
  };
}

/** Merges one session.update's `session` into the state (fields it does not name stay). */
export function mergeSessionUpdate(state: SessionState, session: Record<string, unknown>): SessionState {
  const next = { ...state };
  if (typeof session.voice === 'string') next.voice = session.voice;
  if (typeof session.instructions === 'string') next.instructions = session.instructions;
  if (Array.isArray(session.tools)) next.tools = [...(session.tools as unknown[])];
  if (session.turn_detection === null) next.turnDetection = { type: null };
  else if (isObject(session.turn_detection)) next.turnDetection = { ...session.turn_detection };
  const input = isObject(session.audio) && isObject(session.audio.input) ? session.audio.input : undefined;
  if (input && 'transcription' in input) {
    next.transcription = isObject(input.transcription) ? { ...input.transcription } : null;
  }
  if (typeof session.input_audio_format === 'string') next.inputAudioFormat = session.input_audio_format;
  if (typeof session.output_audio_format === 'string') next.outputAudioFormat = session.output_audio_format;
  if (typeof session.keep_context === 'boolean') next.keepContext = session.keep_context;
  if (typeof session.enable_noise_suppression === 'boolean') {
    next.enableNoiseSuppression = session.enable_noise_suppression;
  }
  if (typeof session.temperature === 'number') next.temperature = session.temperature;
  return next;
}

/** The `session` of `session.created`, as recorded live. */
export function createdSession(id: string, model: string, state: SessionState): Record<string, unknown> {
  return {
    id,
    object: 'realtime.session',
    instructions: state.instructions,
    voice: liveVoiceId(state.voice),
    modalities: ['audio'],
    turn_detection: state.turnDetection,
    tools: state.tools,
    model,
  };
}

/** The flat `session` of `session.updated`, as recorded live: no `audio` echo. */
export function flatUpdatedSession(id: string, model: string, state: SessionState): Record<string, unknown> {
  return {
    id,
    object: 'realtime.session',
    model,
    voice: liveVoiceId(state.voice),
    instructions: state.instructions,
    modalities: ['audio'],
    input_audio_format: state.inputAudioFormat ?? 'not specified',
    output_audio_format: state.outputAudioFormat ?? 'not specified',
    input_audio_transcription: state.transcription,
    turn_detection: state.turnDetection,
    tools: state.tools,
    keep_context: state.keepContext,
    enable_noise_suppression: state.enableNoiseSuppression,
    temperature: state.temperature,
  };
}

/** Whether VAD is on in a `turn_detection` as sent (`{type: null}` and `null` are off). */
export function vadRequested(turnDetection: Record<string, unknown>): boolean {
  return turnDetection.type === 'server_vad';
}

/**
 * `response.done`'s usage: audio seconds of this answer as sent, billable seconds cumulative over
 * the session in whole seconds (seen live: 3 billable for a 5.134 s answer, cumulative), tokens at
 * the rate of the recorded session (≈ 50 audio tokens per output second, 4 characters a text token).
 */
export function responseUsage(input: {
  outputAudioMs: number;
  transcript: string;
  inputAudioMs: number;
  inputText: string;
  sessionMs: number;
}): Record<string, unknown> {
  const inputText = Math.ceil(input.inputText.length / 4);
  const inputAudio = Math.round((input.inputAudioMs / 1000) * 25);
  const outputText = Math.ceil(input.transcript.length / 4);
  const outputAudio = Math.round((input.outputAudioMs / 1000) * 50);
  return {
    input_tokens: inputText + inputAudio,
    input_token_details: { text_tokens: inputText, audio_tokens: inputAudio, grok_tokens: 0 },
    output_tokens: outputText + outputAudio,
    output_token_details: { text_tokens: outputText, audio_tokens: outputAudio, grok_tokens: 0 },
    total_tokens: inputText + inputAudio + outputText + outputAudio,
    output_audio_seconds: Math.round(input.outputAudioMs) / 1000,
    billable_audio_seconds: Math.max(1, Math.ceil(input.sessionMs / 1000)),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

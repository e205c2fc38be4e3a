// Which realtime errors end the session and which are expected races. A barge-in cancel that
// crosses the end of the response gets "no active response" (seen with Grok in Pipecat and
// sip-to-ai); truncate is best effort and may be unsupported. Neither may end a call.

/** The fields of a server `error` object we read; the live service may send any of them null. */
export interface ServerErrorFields {
  readonly type?: string | null;
  readonly code?: string | null;
  readonly message?: string | null;
  readonly param?: string | null;
  readonly event_id?: string | null;
}

export interface RealtimeError {
  /** The session cannot go on (bad key, expired session, rejected config, socket gone). */
  readonly fatal: boolean;
  /** An expected race or best-effort miss; nothing to do. */
  readonly benign: boolean;
  readonly code?: string;
  readonly type?: string;
  readonly message: string;
  /**
   * The server ends this session (error types `timeout`, `max_duration`; live): the call goes on
   * in a new session (realtime-session.ts), so this is neither fatal nor benign.
   */
  readonly sessionEnd?: boolean;
}

const benignCodes = new Set([
  'response_cancel_not_active',
  'cancel_not_active',
  'conversation_already_has_active_response',
  'item_truncate_invalid_item_id',
  'item_truncate_unsupported',
  'unknown_event_type',
]);
const benignMessage = /no active response|not active|already has an active response|truncat/i;

const fatalTypes = new Set(['authentication_error', 'permission_error', 'insufficient_quota']);
const fatalCodes = new Set([
  'invalid_api_key',
  'unauthorized',
  'session_expired',
  'session_expiration',
  'insufficient_quota',
  'model_not_found',
  'invalid_model',
]);
const fatalMessage = /api key|unauthori[sz]ed|forbidden/i;
/** Types (and codes) with which the live service ends a session: a long call must not go silent. */
const sessionEndTypes = new Set(['timeout', 'max_duration', 'session_expired', 'session_expiration']);
const sessionEndMessage = /session (has )?expired|maximum (session )?duration|session timed? ?out/i;

/**
 * Classifies a server `error` event. `handshake` is true while session.update is unanswered:
 * any error then means our config was refused, which is fatal.
 */
export function classifyServerError(error: ServerErrorFields, handshake = false): RealtimeError {
  const code = error.code ?? undefined;
  const type = error.type ?? undefined;
  const message = error.message ?? '';
  const base = {
    message: message || code || type || 'realtime error',
    ...(code !== undefined ? { code } : {}),
    ...(type !== undefined ? { type } : {}),
  };
  const sessionEnd =
    (type !== undefined && sessionEndTypes.has(type)) ||
    (code !== undefined && sessionEndTypes.has(code)) ||
    sessionEndMessage.test(message);
  if (sessionEnd && !handshake) return { ...base, fatal: false, benign: false, sessionEnd: true };
  const fatal =
    handshake ||
    (type !== undefined && fatalTypes.has(type)) ||
    (code !== undefined && fatalCodes.has(code)) ||
    fatalMessage.test(message);
  if (fatal) return { ...base, fatal: true, benign: false };
  const benign = (code !== undefined && benignCodes.has(code)) || benignMessage.test(message);
  return { ...base, fatal: false, benign };
}

/** An error raised on our side (socket, timeout, protocol), always with a code. */
export function localError(code: string, message: string, fatal: boolean): RealtimeError {
  return { fatal, benign: false, code, message };
}

/** Thrown by connectRealtime when no session could be established. */
export class RealtimeConnectError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RealtimeConnectError';
    this.code = code;
  }
}

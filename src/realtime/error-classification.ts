// Which realtime errors end the session and which are expected races. A barge-in cancel that
// crosses the end of the response gets "no active response" (seen with Grok in Pipecat and
// sip-to-ai); truncate is best effort and may be unsupported. Neither may end a call.
import type { RealtimeErrorBody } from './server-events.js';

export interface RealtimeError {
  /** The session cannot go on (bad key, expired session, rejected config, socket gone). */
  readonly fatal: boolean;
  /** An expected race or best-effort miss; nothing to do. */
  readonly benign: boolean;
  readonly code?: string;
  readonly type?: string;
  readonly message: string;
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
const fatalMessage = /api key|unauthori[sz]ed|forbidden|session (has )?expired|maximum (session )?duration/i;

/**
 * Classifies a server `error` event. `handshake` is true while session.update is unanswered:
 * any error then means our config was refused, which is fatal.
 */
export function classifyServerError(error: RealtimeErrorBody, handshake = false): RealtimeError {
  const code = error.code ?? undefined;
  const base = {
    message: error.message || code || error.type || 'realtime error',
    ...(code !== undefined ? { code } : {}),
    ...(error.type !== undefined ? { type: error.type } : {}),
  };
  const fatal =
    handshake ||
    (error.type !== undefined && fatalTypes.has(error.type)) ||
    (code !== undefined && fatalCodes.has(code)) ||
    fatalMessage.test(error.message);
  if (fatal) return { ...base, fatal: true, benign: false };
  const benign = (code !== undefined && benignCodes.has(code)) || benignMessage.test(error.message);
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

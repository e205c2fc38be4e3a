// Opening a realtime session: validate the config and URL, connect, run the handshake.
import type { Logger } from '../observability/logger.js';
import { RealtimeConnectError } from './error-classification.js';
import { RealtimeSession } from './realtime-session.js';
import type { ConnectRealtimeOptions } from './realtime-session-types.js';
import { sessionConfigToJson, type SessionJson } from './session-config.js';

/**
 * Where this session's rejected input is logged from: the call id when the call-scoped logger
 * carries one (the boundary logs once per source and kind, so one bad server logs once per
 * call, not once per process), else the server's host.
 */
function sourceOf(log: Logger | undefined, url: URL): string {
  const callId = (log?.bindings() as { callId?: unknown } | undefined)?.callId;
  return typeof callId === 'string' && callId !== '' ? `call:${callId}` : `realtime:${url.host}`;
}

/**
 * Connects, runs the handshake and resolves with a ready session. Rejects with a
 * RealtimeConnectError (code: invalid_config, invalid_url, unauthorized, http_<status>,
 * connect_failed, closed_during_handshake, handshake_timeout, or the server's error code).
 */
export async function connectRealtime(options: ConnectRealtimeOptions): Promise<RealtimeSession> {
  let sessionJson: SessionJson;
  let url: URL;
  try {
    sessionJson = sessionConfigToJson(options.session);
  } catch (err) {
    throw new RealtimeConnectError('invalid_config', `realtime session config: ${(err as Error).message}`);
  }
  try {
    url = new URL(options.url);
  } catch {
    throw new RealtimeConnectError('invalid_url', `realtime url is not a URL: ${String(options.url)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new RealtimeConnectError(
      'invalid_url',
      `realtime url must be ws:// or wss://, got ${url.protocol}`,
    );
  }
  if (options.model !== undefined) url.searchParams.set('model', options.model);
  const session = new RealtimeSession(
    { ...options, source: options.source ?? sourceOf(options.log, url) },
    url,
    sessionJson,
  );
  await session.open();
  return session;
}

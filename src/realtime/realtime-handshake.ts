// Opens one realtime socket and runs the handshake: wait for `conversation.created` (Grok's first
// event; OpenAI sends `session.created`), send `session.update`, wait for `session.updated`.
// No audio may be sent before that (xAI phone examples). The whole of it — TCP, TLS, HTTP upgrade,
// both events — is bounded by one timeout, and every failure closes the socket it opened.
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../observability/logger.js';
import { classifyServerError, RealtimeConnectError } from './error-classification.js';
import { parseServerMessage } from './server-events.js';
import type { SessionJson } from './session-config.js';

export interface HandshakeOptions {
  readonly url: URL;
  readonly apiKey?: string;
  readonly sessionJson: SessionJson;
  readonly timeoutMs: number;
  /**
   * Send session.update anyway if no greeting came within this time after the upgrade (xAI's
   * own Python example sends it straight away, so a server may wait for us).
   */
  readonly greetingGraceMs: number;
  readonly log: Logger;
}

/** Where messages and the close go once the handshake has succeeded. */
export interface ReadySocketHandlers {
  message(data: RawData, isBinary: boolean): void;
  close(ws: WebSocket, code: number, reason: string): void;
}

export interface OpenedSocket {
  readonly ws: WebSocket;
  /** The `session` object of `session.updated`, as the server reported it. */
  readonly session: Record<string, unknown>;
}

export function openRealtimeSocket(
  options: HandshakeOptions,
  handlers: ReadySocketHandlers,
): Promise<OpenedSocket> {
  const { url, apiKey, timeoutMs, log } = options;
  return new Promise<OpenedSocket>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (apiKey !== undefined && apiKey !== '') headers.Authorization = `Bearer ${apiKey}`;
    const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, maxPayload: 16 * 1024 * 1024 });
    let stage = 'connecting';
    let ready = false;
    let settled = false;
    let updateSent = false;
    let greetingTimer: NodeJS.Timeout | undefined;

    const fail = (code: string, message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(greetingTimer);
      ws.terminate();
      reject(new RealtimeConnectError(code, message));
    };
    const timer = setTimeout(
      () => fail('handshake_timeout', `realtime handshake timed out after ${timeoutMs} ms (${stage})`),
      timeoutMs,
    );
    const sendUpdate = (): void => {
      if (updateSent || settled) return;
      updateSent = true;
      clearTimeout(greetingTimer);
      stage = 'waiting for session.updated';
      ws.send(JSON.stringify({ type: 'session.update', session: options.sessionJson }));
    };

    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      const code = status === 401 || status === 403 ? 'unauthorized' : `http_${status}`;
      fail(
        code,
        `realtime server refused the WebSocket upgrade: HTTP ${status} ${res.statusMessage ?? ''}`.trim(),
      );
    });
    // Kept for the socket's life: an 'error' without a listener would crash the process.
    ws.on('error', (err) => {
      if (!settled) fail('connect_failed', `realtime connection failed: ${err.message}`);
      else log.debug({ err: err.message }, 'realtime socket error');
    });
    ws.on('open', () => {
      stage = 'waiting for conversation.created';
      greetingTimer = setTimeout(sendUpdate, options.greetingGraceMs);
    });
    ws.on('close', (code, reasonBuffer) => {
      const reason = reasonBuffer.toString();
      if (ready) {
        handlers.close(ws, code, reason);
        return;
      }
      fail(
        'closed_during_handshake',
        `realtime server closed the socket (${code} ${reason}) while ${stage}`.trim(),
      );
    });
    ws.on('message', (data, isBinary) => {
      if (ready) {
        handlers.message(data, isBinary);
        return;
      }
      if (settled || isBinary) return;
      const parsed = parseServerMessage(rawText(data));
      if (parsed.kind !== 'event') {
        log.debug({ parsed }, 'realtime handshake: ignored message');
        return;
      }
      const event = parsed.event;
      switch (event.type) {
        case 'conversation.created':
        case 'session.created':
          sendUpdate();
          return;
        case 'session.updated':
          if (!updateSent) return; // an update we did not ask for
          ready = true;
          settled = true;
          clearTimeout(timer);
          resolve({ ws, session: event.session });
          return;
        case 'error': {
          const classified = classifyServerError(event.error, true);
          fail(classified.code ?? 'session_rejected', `realtime session refused: ${classified.message}`);
          return;
        }
        default:
          return;
      }
    });
  });
}

export function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

// Opens one realtime socket and runs the handshake: wait for `conversation.created` (Grok's first
// event; OpenAI sends `session.created`), send `session.update`, wait for `session.updated`.
// No audio may be sent before that (xAI phone examples). The whole of it — TCP, TLS, HTTP upgrade,
// both events — is bounded by one timeout, and every failure closes the socket it opened.
// The socket's limits (socket-limits.ts) hold from the upgrade on: a frame over maxPayload,
// invalid UTF-8 or a broken frame is refused by `ws` (1009, 1007, 1002), a message that never
// ends by StalledFrameWatch; each is counted as rejected realtime input, and the close carries
// the cause.
import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { Logger } from '../observability/logger.js';
import { guardInput, rejectedInputs } from '../observability/rejected-input.js';
import { classifyServerError, RealtimeConnectError } from './error-classification.js';
import { droppedMessageReason, parseServerMessage } from './server-events.js';
import type { SessionJson } from './session-config.js';
import { closeHandshakeMs, frameStallMs, maxRealtimeFrameBytes } from './socket-limits.js';
import { StalledFrameWatch } from './stalled-frame-watch.js';
import { SocketLiveness, type LivenessSettings } from './socket-liveness.js';

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
  /** A frame (or fragmented message) unfinished this long ends the socket; default frameStallMs. */
  readonly frameStallMs?: number;
  /** Names the session in rejected-input logs (`realtime:<host>` or a call id). */
  readonly source: string;
  /** Ping/pong and idle checks once the handshake is done (socket-liveness.ts). */
  readonly liveness?: LivenessSettings;
  readonly log: Logger;
}

/** Where messages and the close go once the handshake has succeeded. */
export interface ReadySocketHandlers {
  message(data: RawData, isBinary: boolean): void;
  /** `cause`: why we ended the socket ourselves (a refused frame, a stall), if we did. */
  close(ws: WebSocket, code: number, reason: string, cause: string | undefined): void;
}

export interface OpenedSocket {
  readonly ws: WebSocket;
  /** The `session` object of `session.updated`, as the server reported it. */
  readonly session: Record<string, unknown>;
  /** Ends the socket now (no close handshake); `cause` reaches the close handler. */
  abort(cause: string): void;
}

/** `ws` has no type for closeTimeout (ws ≥ 8.18). */
type RealtimeClientOptions = ClientOptions & { closeTimeout: number };

export function openRealtimeSocket(
  options: HandshakeOptions,
  handlers: ReadySocketHandlers,
): Promise<OpenedSocket> {
  const { url, apiKey, timeoutMs, log } = options;
  return new Promise<OpenedSocket>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (apiKey !== undefined && apiKey !== '') headers.Authorization = `Bearer ${apiKey}`;
    const wsOptions: RealtimeClientOptions = {
      headers,
      handshakeTimeout: timeoutMs,
      maxPayload: maxRealtimeFrameBytes,
      closeTimeout: closeHandshakeMs,
    };
    const ws = new WebSocket(url, wsOptions);
    let stage = 'connecting';
    let ready = false;
    let settled = false;
    let updateSent = false;
    let greetingTimer: NodeJS.Timeout | undefined;
    let cause: string | undefined;
    let upgradedSocket: Socket | undefined;
    const abort = (why: string): void => {
      cause ??= why;
      ws.terminate();
    };
    let liveness: SocketLiveness | undefined;
    const stallWatch = new StalledFrameWatch(options.frameStallMs ?? frameStallMs, (stalledMs) => {
      rejectedInputs.reject('realtime', options.source, 'frame never completed');
      abort(`a frame from the server stayed incomplete for ${Math.round(stalledMs)} ms`);
    });

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
    ws.on('error', (err: Error & { code?: unknown }) => {
      // WS_ERR_*: `ws` refused a frame (too big, bad UTF-8, bad framing) and is closing.
      if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
        rejectedInputs.reject('realtime', options.source, err.code, err);
        cause ??= `refused a frame from the server: ${err.message} (${err.code})`;
        stallWatch.stop();
      }
      if (!settled) fail('connect_failed', `realtime connection failed: ${cause ?? err.message}`);
      else log.debug({ err: err.message }, 'realtime socket error');
    });
    ws.on('upgrade', (res) => {
      upgradedSocket = res.socket as Socket;
    });
    ws.on('open', () => {
      if (upgradedSocket) stallWatch.watch(upgradedSocket);
      stage = 'waiting for conversation.created';
      greetingTimer = setTimeout(sendUpdate, options.greetingGraceMs);
    });
    ws.on('close', (code, reasonBuffer) => {
      stallWatch.stop();
      liveness?.stop();
      const reason = reasonBuffer.toString();
      if (ready) {
        handlers.close(ws, code, reason, cause);
        return;
      }
      if (cause !== undefined) {
        fail('closed_during_handshake', `realtime socket closed while ${stage}: ${cause}`);
        return;
      }
      fail(
        'closed_during_handshake',
        `realtime server closed the socket (${code} ${reason}) while ${stage}`.trim(),
      );
    });
    // Whatever a handler throws on one message is a dropped input, not an uncaught exception.
    ws.on('message', (data, isBinary) =>
      guardInput('realtime', options.source, () => onMessage(data, isBinary)),
    );
    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (ready) {
        handlers.message(data, isBinary);
        return;
      }
      if (settled) return;
      if (isBinary) {
        rejectedInputs.reject('realtime', options.source, 'binary frame');
        return;
      }
      const parsed = parseServerMessage(rawText(data));
      if (parsed.kind !== 'event') {
        rejectedInputs.reject('realtime', options.source, droppedMessageReason(parsed));
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
          if (options.liveness !== undefined) {
            liveness = new SocketLiveness(ws, options.liveness, (why) => {
              log.warn({ cause: why }, 'realtime socket not alive; ending it');
              abort(why);
            });
            liveness.start();
          }
          resolve({ ws, session: event.session, abort });
          return;
        case 'error': {
          const classified = classifyServerError(event.error, true);
          fail(classified.code ?? 'session_rejected', `realtime session refused: ${classified.message}`);
          return;
        }
        default:
          return;
      }
    };
  });
}

export function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

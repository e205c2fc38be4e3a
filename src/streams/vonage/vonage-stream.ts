// One Vonage Voice API WebSocket (an NCCO `connect` to an endpoint of type websocket), as
// developer.vonage.com/voice/voice-api/concepts/websockets describes it: the first message is
// text, `{"event":"websocket:connected","content-type":"audio/l16;rate=16000", …our headers}`;
// then binary messages of 20 ms of 16-bit little-endian linear PCM (640 bytes at 16 kHz, 320 at
// 8 kHz) both ways, and text events (`websocket:dtmf` with `digit`, `websocket:notify`,
// `websocket:cleared`). Vonage buffers a limited number of our messages, so we send exactly one
// 20 ms frame per media clock tick. Barge-in sends `{"action":"clear"}`; a
// `{"action":"notify","payload":{…}}` after every 100 ms of agent audio comes back as
// `websocket:notify` once played, which tells barge-in what the caller heard.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RawData, WebSocket } from 'ws';
import type { AudioFormat } from '../../audio/audio-format.js';
import { isDtmfDigit } from '../../media/dtmf-event.js';
import type { Logger } from '../../observability/logger.js';
import type {
  MediaStreamCall,
  MediaStreamEvents,
  StreamEnd,
  StreamTransferOutcome,
} from '../media-stream-call.js';
import { PlayoutMarks } from '../playout-marks.js';
import { StreamGuard } from '../stream-guard.js';
import { sendCallDtmf, transferCall, type VonageRestCredentials } from './vonage-call-update.js';
import { validCallToken } from './vonage-signature.js';

const frameMs = 20;
const notifyEveryFrames = 5;
const connectedTimeoutMs = 10_000;
const maxBufferedBytes = 1 << 20;

export interface VonageStreamOptions {
  /** VONAGE_SIGNATURE_SECRET; the `token` header our NCCO put in must match the call uuid. */
  readonly signatureSecret: string | undefined;
  readonly requireToken: boolean;
  /** For transfers (modify call); absent: transfer answers 501. */
  readonly rest?: VonageRestCredentials;
  readonly log: Logger;
}

export class VonageStream implements MediaStreamCall {
  readonly provider = 'vonage' as const;
  readonly events = new EventEmitter<MediaStreamEvents>();
  readonly sourceAddress: string;
  readonly started: Promise<boolean>;
  format: AudioFormat = { encoding: 'pcm', sampleRate: 16000 };
  callId = '';
  from = '';
  to = '';
  agent = '';
  framesIn = 0;
  readonly #ws: WebSocket;
  readonly #options: VonageStreamOptions;
  readonly #guard: StreamGuard;
  #log: Logger;
  #state: 'awaiting-connected' | 'streaming' | 'ended' = 'awaiting-connected';
  #frameBytes = 640;
  #resolveStarted!: (ok: boolean) => void;
  readonly #timer: NodeJS.Timeout;
  readonly #marks = new PlayoutMarks(notifyEveryFrames);

  constructor(ws: WebSocket, sourceAddress: string, options: VonageStreamOptions) {
    this.#ws = ws;
    this.sourceAddress = sourceAddress;
    this.#options = options;
    this.#log = options.log;
    this.#guard = new StreamGuard(options.log);
    this.started = new Promise((resolve) => (this.#resolveStarted = resolve));
    this.#timer = setTimeout(
      () => this.#protocolError('no websocket:connected within 10 s'),
      connectedTimeoutMs,
    );
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    // Vonage has no stop message: the caller hanging up closes the socket (normally, 1000).
    ws.on('close', (code) => this.#end(code === 1000 || code === 1001 ? 'stop' : 'closed'));
    ws.on('error', (err) => this.#log.debug({ err: err.message }, 'vonage stream socket error'));
  }

  sendMedia(frame: Buffer): void {
    if (this.#state !== 'streaming') return;
    if (this.#ws.bufferedAmount > maxBufferedBytes)
      return this.#protocolError('Vonage is not reading the stream');
    this.#ws.send(frame, { binary: true });
    if (this.#marks.sent()) this.#sendNotify();
  }

  idle(): void {
    if (this.#marks.unmarked && this.#state === 'streaming') this.#sendNotify();
  }

  get framesOut(): number {
    return this.#marks.framesOut;
  }

  get unheardMs(): number {
    return this.#marks.unheardMs;
  }

  clear(): void {
    if (this.#state !== 'streaming') return;
    this.#ws.send('{"action":"clear"}');
    this.#marks.cleared();
  }

  close(): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#timer);
    this.#ws.close(1000, 'call ended');
  }

  transfer(target: string): Promise<StreamTransferOutcome> {
    const rest = this.#options.rest;
    if (rest === undefined) {
      return Promise.resolve({ accepted: false, status: 501, reason: 'no Vonage application configured' });
    }
    return transferCall(rest, this.callId, target);
  }

  sendDtmf(digits: string): Promise<void> {
    const rest = this.#options.rest;
    if (rest === undefined) return Promise.reject(new Error('no Vonage application configured'));
    return sendCallDtmf(rest, this.callId, digits);
  }

  #sendNotify(): void {
    this.#ws.send(`{"action":"notify","payload":{"frames":${this.#marks.mark()}}}`);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'ended') return;
    const nowMs = performance.now();
    if (!this.#guard.admit(nowMs)) return this.#protocolError('more than 250 messages in a second');
    if (isBinary) {
      if (this.#state !== 'streaming') return this.#protocolError('audio before websocket:connected');
      const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (frame.length !== this.#frameBytes) {
        return this.#protocolError(`audio frame of ${frame.length} bytes, not ${this.#frameBytes} (20 ms)`);
      }
      const seq = this.framesIn++;
      this.events.emit('audio', {
        seq: seq & 0xffff,
        ts: (seq * (this.#frameBytes / 2)) >>> 0,
        payload: frame,
        arrivalMs: nowMs,
      });
      return;
    }
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(String(data));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      message = parsed as Record<string, unknown>;
    } catch {
      return this.#protocolError('text message is not a JSON object');
    }
    const event = message.event;
    if (this.#state === 'awaiting-connected') {
      if (event !== 'websocket:connected') return this.#protocolError(`first message is ${String(event)}`);
      return this.#onConnected(message);
    }
    switch (event) {
      case 'websocket:connected':
        return this.#protocolError('a second websocket:connected');
      case 'websocket:dtmf': {
        const digit = typeof message.digit === 'string' ? message.digit.toUpperCase() : '';
        if (!isDtmfDigit(digit))
          return this.#protocolError(`websocket:dtmf digit ${JSON.stringify(message.digit)}`);
        this.events.emit('dtmf', digit);
        return;
      }
      case 'websocket:notify': {
        const payload = message.payload as { frames?: unknown } | undefined;
        this.#marks.played(typeof payload?.frames === 'number' ? payload.frames : NaN);
        return;
      }
      default:
        // websocket:cleared and events added later: nothing to do.
        return;
    }
  }

  #onConnected(message: Record<string, unknown>): void {
    const contentType = typeof message['content-type'] === 'string' ? message['content-type'] : '';
    const rate = /^audio\/l16;\s*rate=(8000|16000)$/i.exec(contentType)?.[1];
    if (rate === undefined) return this.#protocolError(`content-type ${JSON.stringify(contentType)}`);
    // Our NCCO's endpoint headers arrive in this message (top level; some accounts nest them).
    const nested = typeof message.headers === 'object' && message.headers !== null ? message.headers : {};
    const headers = { ...(nested as Record<string, unknown>), ...message };
    const text = (name: string): string => (typeof headers[name] === 'string' ? headers[name] : '');
    const uuid = text('uuid');
    if (this.#options.requireToken && !validCallToken(this.#options.signatureSecret, uuid, text('token'))) {
      return this.#protocolError('no valid token header (the stream did not come from our NCCO)');
    }
    clearTimeout(this.#timer);
    const sampleRate = Number(rate);
    this.format = { encoding: 'pcm', sampleRate };
    this.#frameBytes = (sampleRate / 1000) * frameMs * 2;
    this.callId = uuid !== '' ? uuid : `vonage-${Date.now().toString(36)}`;
    this.from = text('from');
    this.to = text('to');
    this.agent = text('agent');
    this.#log = this.#log.child({ callId: this.callId });
    this.#state = 'streaming';
    this.#resolveStarted(true);
  }

  #protocolError(reason: string): void {
    if (this.#state === 'ended') return;
    this.#guard.violation('vonage', reason);
    this.#end('protocol-error');
    this.#ws.close(1008, reason.slice(0, 120));
  }

  #end(how: StreamEnd): void {
    if (this.#state === 'ended') return;
    const wasStreaming = this.#state === 'streaming';
    this.#state = 'ended';
    clearTimeout(this.#timer);
    if (!wasStreaming) return this.#resolveStarted(false);
    this.events.emit('ended', how);
  }
}

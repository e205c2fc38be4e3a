// One Twilio Media Stream (a <Connect><Stream> call) over its WebSocket, message by message as
// twilio.com/docs/voice/media-streams/websocket-messages describes: `connected`, then `start`
// (stream and call ids, μ-law 8 kHz, our <Parameter>s), then `media` (20 ms of base64 μ-law,
// numbered by chunk and stamped in ms), `dtmf`, `mark` (a mark we sent has been played) and
// finally `stop`. We send `media` (one 20 ms frame per media clock tick, so Twilio's buffer
// stays short), a `mark` every 100 ms of agent audio and at the end of each talk spurt (so we
// know what the caller has heard), and `clear` on barge-in.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RawData, WebSocket } from 'ws';
import type { AudioFormat } from '../../audio/audio-format.js';
import type { Logger } from '../../observability/logger.js';
import type {
  MediaStreamCall,
  MediaStreamEvents,
  StreamEnd,
  StreamTransferOutcome,
} from '../media-stream-call.js';
import { PlayoutMarks } from '../playout-marks.js';
import { StreamGuard } from '../stream-guard.js';
import { redirectCallToDial, type TwilioRestCredentials } from './twilio-call-update.js';
import {
  parseTwilioMessage,
  twilioClearMessage,
  twilioMarkMessage,
  twilioMediaMessage,
  TwilioProtocolError,
} from './twilio-messages.js';
import { validStreamToken } from './twilio-signature.js';

/** A mark every 5 frames: barge-in knows what was heard to within 100 ms, at 10 marks a second. */
const markEveryFrames = 5;
/** Until `start`: Twilio sends `connected` and `start` at once. */
const startTimeoutMs = 10_000;
/** Agent audio Twilio has not read off the socket; past it the stream is not being read. */
const maxBufferedBytes = 1 << 20;

export interface TwilioStreamOptions {
  readonly authToken: string;
  /** false only in tests and behind a trusted proxy: no per-call token required on the stream. */
  readonly requireToken: boolean;
  /** For transfers (call update); absent: transfer answers 501. */
  readonly rest?: TwilioRestCredentials;
  readonly log: Logger;
}

export class TwilioStream implements MediaStreamCall {
  readonly provider = 'twilio' as const;
  readonly format: AudioFormat = { encoding: 'pcmu' };
  readonly events = new EventEmitter<MediaStreamEvents>();
  readonly sourceAddress: string;
  /** True once a valid `start` came; false if the stream ended or broke its protocol before. */
  readonly started: Promise<boolean>;
  callId = '';
  from = '';
  to = '';
  agent = '';
  framesIn = 0;
  readonly #ws: WebSocket;
  readonly #options: TwilioStreamOptions;
  readonly #guard: StreamGuard;
  #log: Logger;
  #state: 'awaiting-start' | 'streaming' | 'ended' = 'awaiting-start';
  #streamSidJson = '""';
  #resolveStarted!: (ok: boolean) => void;
  readonly #startTimer: NodeJS.Timeout;
  readonly #marks = new PlayoutMarks(markEveryFrames);

  constructor(ws: WebSocket, sourceAddress: string, options: TwilioStreamOptions) {
    this.#ws = ws;
    this.sourceAddress = sourceAddress;
    this.#options = options;
    this.#log = options.log;
    this.#guard = new StreamGuard(options.log);
    this.started = new Promise((resolve) => (this.#resolveStarted = resolve));
    this.#startTimer = setTimeout(() => this.#protocolError('no start message within 10 s'), startTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#end('closed'));
    ws.on('error', (err) => this.#log.debug({ err: err.message }, 'twilio stream socket error'));
  }

  sendMedia(frame: Buffer): void {
    if (this.#state !== 'streaming') return;
    if (this.#ws.bufferedAmount > maxBufferedBytes)
      return this.#protocolError('Twilio is not reading the stream');
    this.#ws.send(twilioMediaMessage(this.#streamSidJson, frame));
    if (this.#marks.sent()) this.#sendMark();
  }

  idle(): void {
    if (this.#marks.unmarked && this.#state === 'streaming') this.#sendMark();
  }

  get framesOut(): number {
    return this.#marks.framesOut;
  }

  get unheardMs(): number {
    return this.#marks.unheardMs;
  }

  clear(): void {
    if (this.#state !== 'streaming') return;
    this.#ws.send(twilioClearMessage(this.#streamSidJson));
    this.#marks.cleared();
  }

  close(): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#startTimer);
    this.#ws.close(1000, 'call ended');
  }

  transfer(target: string): Promise<StreamTransferOutcome> {
    const rest = this.#options.rest;
    if (rest === undefined) {
      return Promise.resolve({ accepted: false, status: 501, reason: 'no Twilio account SID configured' });
    }
    return redirectCallToDial(rest, this.callId, target);
  }

  sendDtmf(): Promise<void> {
    // Media Streams carry no DTMF towards the caller, and a call update would end the stream.
    return Promise.reject(new Error('a Twilio media stream cannot send DTMF'));
  }

  #sendMark(): void {
    this.#ws.send(twilioMarkMessage(this.#streamSidJson, String(this.#marks.mark())));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'ended') return;
    const nowMs = performance.now();
    if (!this.#guard.admit(nowMs)) return this.#protocolError('more than 250 messages in a second');
    if (isBinary) return this.#protocolError('binary message (Twilio sends JSON text)');
    let message;
    try {
      message = parseTwilioMessage(String(data));
    } catch (err) {
      if (!(err instanceof TwilioProtocolError)) throw err;
      return this.#protocolError(err.message);
    }
    switch (message.event) {
      case 'connected':
        if (this.#state !== 'awaiting-start') return this.#protocolError('connected after start');
        return;
      case 'start': {
        if (this.#state !== 'awaiting-start') return this.#protocolError('a second start');
        if (message.encoding !== 'audio/x-mulaw' || message.sampleRate !== 8000) {
          return this.#protocolError(
            `media format ${message.encoding}/${message.sampleRate}, not audio/x-mulaw/8000`,
          );
        }
        const p = message.customParameters;
        if (
          this.#options.requireToken &&
          !validStreamToken(this.#options.authToken, message.callSid, p.token)
        ) {
          return this.#protocolError('no valid token parameter (the stream did not come from our TwiML)');
        }
        clearTimeout(this.#startTimer);
        this.callId = message.callSid;
        this.from = p.from ?? '';
        this.to = p.to ?? '';
        this.agent = p.agent ?? '';
        this.#streamSidJson = JSON.stringify(message.streamSid);
        this.#log = this.#log.child({ callId: message.callSid, streamSid: message.streamSid });
        this.#state = 'streaming';
        this.#resolveStarted(true);
        return;
      }
      case 'media':
        if (this.#state !== 'streaming') return this.#protocolError('media before start');
        this.framesIn++;
        this.events.emit('audio', {
          seq: message.chunk & 0xffff,
          ts: (message.timestampMs * 8) >>> 0,
          payload: message.payload,
          arrivalMs: nowMs,
        });
        return;
      case 'dtmf':
        if (this.#state !== 'streaming') return this.#protocolError('dtmf before start');
        this.events.emit('dtmf', message.digit);
        return;
      case 'mark':
        this.#marks.played(Number(message.name));
        return;
      case 'stop':
        this.#end('stop');
        this.#ws.close(1000, 'stopped');
        return;
      case 'other':
        this.#log.debug({ event: message.name }, 'twilio stream event ignored');
        return;
    }
  }

  #protocolError(reason: string): void {
    if (this.#state === 'ended') return;
    this.#guard.violation('twilio', reason);
    this.#end('protocol-error');
    this.#ws.close(1008, reason.slice(0, 120));
  }

  #end(how: StreamEnd): void {
    if (this.#state === 'ended') return;
    const wasStreaming = this.#state === 'streaming';
    this.#state = 'ended';
    clearTimeout(this.#startTimer);
    if (!wasStreaming) {
      this.#resolveStarted(false);
      return;
    }
    this.events.emit('ended', how);
  }
}

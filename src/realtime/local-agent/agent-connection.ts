// One client connection to the local agent: the handshake, the session's formats, caller audio
// through the energy VAD, and the responses (echo, or the script's steps).
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../../observability/logger.js';
import { guardInput, rejectedInputs } from '../../observability/rejected-input.js';
import { durationMs, bytesPerSample, sampleRateOf, type AudioFormat } from '../../audio/audio-format.js';
import { defaultPcmSampleRate, formatFromSessionJson, formatToSessionJson } from '../session-audio-format.js';
import { clientEventSchema, type ClientEvent, type ClientEventOf } from '../client-events.js';
import { rawText } from '../realtime-handshake.js';
import { maxUnsentBytes } from '../socket-limits.js';
import { AgentResponse, type BurstPacing, type ResponseContent } from './agent-response.js';
import type { HandshakeMode, ScriptStep } from './agent-script.js';
import { decodeToLinear, toneIn, transcode } from './echo-transcoder.js';
import { EnergyVad } from './energy-vad.js';

export interface AgentConnectionOptions {
  readonly index: number;
  /** The client, for rejected-input logs: `local-agent:<address>`. */
  readonly source: string;
  readonly handshake: HandshakeMode;
  readonly pacing: BurstPacing;
  /** Energy threshold used when the session's turn_detection has no `threshold`. */
  readonly vadThresholdDbfs: number;
  readonly log: Logger;
  /** The script's steps for the next user turn; undefined = echo. */
  nextTurn(): readonly ScriptStep[] | undefined;
  /** Steps to run after this connection's first session.updated. */
  afterHandshake(): readonly ScriptStep[];
  onClientEvent(event: ClientEvent): void;
  /** Every event sent (its type), for tests that time what the client did after it. */
  onServerEvent?(type: string): void;
  nextId(prefix: string): string;
}

interface TurnDetection {
  readonly thresholdDbfs: number;
  readonly silenceDurationMs: number;
  readonly prefixPaddingMs: number;
}

export class AgentConnection {
  readonly #ws: WebSocket;
  readonly #options: AgentConnectionOptions;
  #inputFormat: AudioFormat = { encoding: 'pcm', sampleRate: defaultPcmSampleRate };
  #outputFormat: AudioFormat = { encoding: 'pcm', sampleRate: defaultPcmSampleRate };
  #turnDetection: TurnDetection | null;
  #vad: EnergyVad;
  /** Caller audio not yet consumed by a turn, starting at sample #keptStart. */
  #kept: Buffer[] = [];
  #keptStart = 0;
  #keptSamples = 0;
  #userItemId = '';
  #response: AgentResponse | null = null;
  readonly #agentItems = new Set<string>();
  #lastClientItem: ClientEventOf<'conversation.item.create'>['item'] | null = null;
  #sessionUpdates = 0;

  constructor(ws: WebSocket, options: AgentConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    this.#turnDetection = {
      thresholdDbfs: options.vadThresholdDbfs,
      silenceDurationMs: 500,
      prefixPaddingMs: 300,
    };
    this.#vad = this.#newVad();
    // Whatever one client message makes us throw is a dropped input, not an uncaught exception.
    ws.on('message', (data, isBinary) =>
      guardInput('realtime', options.source, () => this.#onMessage(data, isBinary)),
    );
    ws.on('close', () => this.#response?.abandon());
    if (options.handshake === 'normal' || options.handshake === 'greeting-only') {
      this.#send({
        type: 'conversation.created',
        conversation: { id: options.nextId('conv'), object: 'realtime.conversation' },
      });
    }
  }

  /** Runs one step now (tests use this to fault a live connection at a chosen moment). */
  runStep(step: ScriptStep, utterance?: Buffer): void {
    switch (step.kind) {
      case 'echo':
        if (utterance && utterance.length > 0) return this.#echo(utterance);
        return this.#say('[echo: nothing heard]', 300);
      case 'say':
        return this.#say(step.text, step.durationMs);
      case 'long_response':
        return this.#say(`[long response ${step.durationMs} ms]`, step.durationMs);
      case 'function_call':
        return this.#startResponse({
          kind: 'function_call',
          name: step.name,
          arguments: step.arguments,
          callId: step.callId ?? this.#options.nextId('call'),
          announceTimes: step.announceTimes,
        });
      case 'error':
        return this.#error(step.code, step.message, step.errorType);
      case 'disconnect':
        if (step.closeCode !== undefined) this.#ws.close(step.closeCode, 'scripted disconnect');
        else this.#ws.terminate();
        return;
      case 'bad_json':
        this.#sendRaw('this is {not json');
        this.#ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
        this.#sendRaw('[1,2,3]');
        this.#sendRaw('{"type":42}');
        this.#sendRaw('{"type":"response.output_audio.delta","response_id":"r","item_id":"i"}');
        return;
      case 'unknown_event':
        return this.#send({ type: 'grok.future_event', detail: 'not in the protocol subset' });
      case 'ping':
        return this.#send({ type: 'ping' });
      case 'close_mid_response': {
        const audio = toneIn(this.#outputFormat, 2000);
        this.#startResponse(
          { kind: 'audio', audio, format: this.#outputFormat, transcript: '[cut off]' },
          { stopAfterBytes: Math.max(1, Math.round(step.afterMs * (audio.length / 2000))) },
        );
        return;
      }
    }
  }

  #newVad(): EnergyVad {
    const td = this.#turnDetection;
    return new EnergyVad({
      sampleRate: sampleRateOf(this.#inputFormat),
      ...(td
        ? {
            thresholdDbfs: td.thresholdDbfs,
            silenceDurationMs: td.silenceDurationMs,
            prefixPaddingMs: td.prefixPaddingMs,
          }
        : {}),
    });
  }

  #send(event: Record<string, unknown>): void {
    if (typeof event.type === 'string') this.#options.onServerEvent?.(event.type);
    this.#sendRaw(JSON.stringify({ event_id: this.#options.nextId('event'), ...event }));
  }

  #sendRaw(text: string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(text);
  }

  #error(code: string, message: string, type = 'invalid_request_error'): void {
    this.#send({ type: 'error', error: { type, code, message } });
  }

  /** An error event for a client frame we drop, counted; none while the client is not reading. */
  #reject(code: string, message: string): void {
    rejectedInputs.reject('realtime', this.#options.source, code);
    // Each bad frame would queue one error event: a client flooding garbage without reading
    // its socket must not make us buffer without bound.
    if (this.#ws.bufferedAmount > maxUnsentBytes) return;
    this.#error(code, message);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#options.handshake === 'stall') return;
    if (isBinary) return this.#reject('invalid_event', 'binary frames are not events');
    let json: unknown;
    try {
      json = JSON.parse(rawText(data));
    } catch {
      return this.#reject('invalid_json', 'message is not JSON');
    }
    const parsed = clientEventSchema.safeParse(json);
    if (!parsed.success) {
      const type = (json as { type?: unknown } | null)?.type;
      const issue = parsed.error.issues[0];
      return this.#reject(
        'invalid_event',
        `invalid client event ${String(type)}: ${issue ? `${issue.path.join('.')} ${issue.message}` : ''}`,
      );
    }
    const event = parsed.data;
    this.#options.onClientEvent(event);
    this.#onEvent(event);
  }

  #onEvent(event: ClientEvent): void {
    switch (event.type) {
      case 'session.update':
        return this.#onSessionUpdate(event);
      case 'input_audio_buffer.append':
        return this.#onAudio(Buffer.from(event.audio, 'base64'));
      case 'input_audio_buffer.commit': {
        if (this.#keptSamples === 0) return this.#error('input_audio_buffer_commit_empty', 'buffer is empty');
        const audio = Buffer.concat(this.#kept);
        this.#resetInput();
        this.#userItemId = this.#options.nextId('item');
        this.#send({ type: 'input_audio_buffer.committed', item_id: this.#userItemId });
        return this.#userTurn(audio);
      }
      case 'input_audio_buffer.clear':
        this.#resetInput();
        return this.#send({ type: 'input_audio_buffer.cleared' });
      case 'conversation.item.create': {
        this.#lastClientItem = event.item;
        const id = this.#options.nextId('item');
        return this.#send({
          type: 'conversation.item.added',
          item: { id, ...event.item, status: 'completed' },
        });
      }
      case 'response.create':
        return this.#onResponseCreate(event.response?.instructions);
      case 'response.cancel':
        if (!this.#response)
          return this.#error('response_cancel_not_active', 'Cancellation failed: no active response found');
        return this.#response.cancel();
      case 'conversation.item.truncate':
        if (!this.#agentItems.has(event.item_id)) {
          return this.#error('item_truncate_invalid_item_id', `no assistant item ${event.item_id}`);
        }
        return this.#send({
          type: 'conversation.item.truncated',
          item_id: event.item_id,
          content_index: event.content_index,
          audio_end_ms: event.audio_end_ms,
        });
    }
  }

  #onSessionUpdate(event: ClientEventOf<'session.update'>): void {
    if (this.#options.handshake === 'greeting-only') return;
    const session = event.session;
    const input = session.audio?.input?.format;
    const output = session.audio?.output?.format;
    if (input) this.#inputFormat = formatFromSessionJson(input);
    if (output) this.#outputFormat = formatFromSessionJson(output);
    if (session.turn_detection === null) {
      this.#turnDetection = null;
    } else if (session.turn_detection) {
      const td = session.turn_detection;
      this.#turnDetection = {
        // Our mapping of the 0..1 threshold onto energy: 0 → -60 dBFS, 0.5 → -40, 1 → -20.
        thresholdDbfs: td.threshold !== undefined ? -60 + 40 * td.threshold : this.#options.vadThresholdDbfs,
        silenceDurationMs: td.silence_duration_ms ?? 500,
        prefixPaddingMs: td.prefix_padding_ms ?? 300,
      };
    }
    this.#vad = this.#newVad();
    this.#resetInput();
    this.#send({
      type: 'session.updated',
      session: {
        ...session,
        object: 'realtime.session',
        id: `sess_local_${this.#options.index}`,
        audio: {
          input: { format: formatToSessionJson(this.#inputFormat) },
          output: { format: formatToSessionJson(this.#outputFormat) },
        },
      },
    });
    if (this.#sessionUpdates++ === 0) for (const step of this.#options.afterHandshake()) this.runStep(step);
  }

  #onAudio(bytes: Buffer): void {
    const width = bytesPerSample(this.#inputFormat);
    if (bytes.length % width !== 0)
      return this.#error('invalid_audio', `pcm audio must be whole 16-bit samples`);
    this.#kept.push(bytes);
    this.#keptSamples += bytes.length / width;
    if (this.#turnDetection === null) return;
    for (const vadEvent of this.#vad.push(decodeToLinear(bytes, this.#inputFormat))) {
      const rate = this.#vad.sampleRate;
      if (vadEvent.kind === 'speech_started') {
        this.#userItemId = this.#options.nextId('item');
        this.#send({
          type: 'input_audio_buffer.speech_started',
          audio_start_ms: Math.round((vadEvent.startSample * 1000) / rate),
          item_id: this.#userItemId,
        });
        // Server VAD barge-in: the caller talking over the agent cancels its answer.
        this.#response?.cancel();
      } else {
        this.#send({
          type: 'input_audio_buffer.speech_stopped',
          audio_end_ms: Math.round((vadEvent.endSample * 1000) / rate),
          item_id: this.#userItemId,
        });
        const utterance = this.#takeInput(vadEvent.startSample, vadEvent.endSample);
        this.#send({
          type: 'input_audio_buffer.committed',
          item_id: this.#userItemId,
          previous_item_id: null,
        });
        this.#userTurn(utterance);
      }
    }
    if (!this.#vad.speaking) this.#trimIdleInput();
  }

  /** Bytes for samples [start, end), then forget everything before `end`. */
  #takeInput(startSample: number, endSample: number): Buffer {
    const width = bytesPerSample(this.#inputFormat);
    const all = Buffer.concat(this.#kept);
    const from = Math.max(0, (startSample - this.#keptStart) * width);
    const to = Math.max(from, (endSample - this.#keptStart) * width);
    const utterance = Buffer.from(all.subarray(from, to));
    const rest = all.subarray(to);
    this.#kept = rest.length > 0 ? [rest] : [];
    this.#keptStart = Math.max(this.#keptStart, endSample);
    this.#keptSamples = rest.length / width;
    return utterance;
  }

  /** While nobody speaks keep only what a prefix pad (plus the start-up windows) can reach back to. */
  #trimIdleInput(): void {
    const width = bytesPerSample(this.#inputFormat);
    const padMs = (this.#turnDetection?.prefixPaddingMs ?? 0) + 50;
    const keepSamples = Math.ceil((padMs * sampleRateOf(this.#inputFormat)) / 1000);
    while (this.#kept.length > 1 && this.#keptSamples - this.#kept[0]!.length / width >= keepSamples) {
      const dropped = this.#kept.shift()!;
      this.#keptSamples -= dropped.length / width;
      this.#keptStart += dropped.length / width;
    }
  }

  #resetInput(): void {
    this.#keptStart = this.#vad.position;
    this.#kept = [];
    this.#keptSamples = 0;
  }

  #userTurn(utterance: Buffer | null, text?: string): void {
    const steps = this.#options.nextTurn();
    if (utterance && utterance.length > 0) {
      const seconds = (durationMs(this.#inputFormat, utterance.length) / 1000).toFixed(1);
      this.#send({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: this.#userItemId,
        content_index: 0,
        transcript: `[caller ${seconds} s]`,
      });
    }
    if (steps) {
      for (const step of steps) this.runStep(step, utterance ?? undefined);
      return;
    }
    if (utterance && utterance.length > 0) return this.#echo(utterance);
    this.#say(text !== undefined ? `[echo text: ${text}]` : '[response]', 300);
  }

  #onResponseCreate(instructions: string | undefined): void {
    if (this.#response) {
      return this.#error(
        'conversation_already_has_active_response',
        'Conversation already has an active response',
      );
    }
    const item = this.#lastClientItem;
    this.#lastClientItem = null;
    if (item?.type === 'function_call_output') return this.#say(`[function result: ${item.output}]`, 300);
    if (item?.type === 'message') return this.#userTurn(null, item.content.map((c) => c.text).join(' '));
    if (instructions !== undefined) return this.#say(`[instructions: ${instructions}]`, 300);
    this.#userTurn(null);
  }

  #echo(utterance: Buffer): void {
    const audio = transcode(utterance, this.#inputFormat, this.#outputFormat);
    const seconds = (durationMs(this.#inputFormat, utterance.length) / 1000).toFixed(1);
    this.#startResponse({
      kind: 'audio',
      audio,
      format: this.#outputFormat,
      transcript: `[echo ${seconds} s]`,
    });
  }

  #say(text: string, toneMs: number): void {
    const audio = toneIn(this.#outputFormat, toneMs);
    this.#startResponse({ kind: 'audio', audio, format: this.#outputFormat, transcript: text });
  }

  #startResponse(content: ResponseContent, fault: { stopAfterBytes?: number } = {}): void {
    this.#response?.cancel();
    const response: AgentResponse = new AgentResponse(
      {
        send: (event) => this.#send(event),
        nextId: (prefix) => this.#options.nextId(prefix),
        pacing: this.#options.pacing,
        ...(fault.stopAfterBytes !== undefined
          ? { stopAfterBytes: fault.stopAfterBytes, onStopped: () => this.#ws.terminate() }
          : {}),
        onFinished: () => {
          if (this.#response === response) this.#response = null;
        },
      },
      content,
    );
    this.#response = response;
    this.#agentItems.add(response.itemId);
    response.start();
  }
}

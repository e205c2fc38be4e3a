// One call that arrived as a carrier media stream (Twilio, Vonage), from its start message to its
// CDR: the profile the answer webhook chose (or the called number's route), the agent's realtime
// session, then the same ConnectedCall as a SIP call with a StreamLeg in place of RTP + dialog.
// The stream is already answered by the carrier when it starts, so there is nothing to refuse
// with a status: a call we cannot serve has its stream closed and a record with the reason.
import { performance } from 'node:perf_hooks';
import type { AudioFormat } from '../audio/audio-format.js';
import { legCodec } from '../audio/audio-format.js';
import type { CallDetailRecord, CallEndReason } from '../observability/call-detail-record.js';
import type { Logger } from '../observability/logger.js';
import type { MediaStreamCall } from '../streams/media-stream-call.js';
import type { AgentProfile } from './agent-profile.js';
import { apiAudioFormat } from './agent-session-config.js';
import { agentReconnector, agentTools, connectAgent } from './call-agent.js';
import type { CallEventWebhooks } from './call-event-webhooks.js';
import { beginCall, callRecord, publishCallEnded, setupMs, tellObserver } from './call-record.js';
import type { CallServices } from './call-services.js';
import { ConnectedCall, type CallSummary } from './connected-call.js';
import { StreamLeg } from './stream-leg.js';

/**
 * The realtime format of a stream call: Twilio's μ-law as the profile asks (pass-through by
 * default, like a PCMU SIP call). Vonage's PCM16 at its own rate by default (Grok takes PCM at
 * 8-48 kHz: no resampling either way); a profile asking pcm16/pcm24 gets that rate through the
 * resampler; a G.711 ask has no meaning on a PCM leg and keeps the leg's PCM.
 */
export function streamApiFormat(profile: AgentProfile, legFormat: AudioFormat): AudioFormat {
  const codec = legCodec(legFormat);
  if (codec !== null) return apiAudioFormat(profile, codec);
  if (profile.audioFormat === 'pcm16') return { encoding: 'pcm', sampleRate: 16000 };
  if (profile.audioFormat === 'pcm24') return { encoding: 'pcm', sampleRate: 24000 };
  return legFormat;
}

export class StreamCallSession {
  readonly callId: string;
  readonly done: Promise<CallDetailRecord>;
  readonly #stream: MediaStreamCall;
  readonly #services: CallServices;
  readonly #log: Logger;
  readonly #startedAtMs = performance.now();
  readonly #startedAt = new Date();
  #resolveDone!: (record: CallDetailRecord) => void;
  #interrupt!: () => void;
  readonly #interrupted = new Promise<void>((resolve) => (this.#interrupt = resolve));
  #streamEnded = false;
  #shuttingDown = false;
  #profile: AgentProfile | undefined;
  #apiFormat: AudioFormat | undefined;
  #connected: ConnectedCall | undefined;
  #webhooks: CallEventWebhooks | undefined;
  #recorded = false;

  constructor(stream: MediaStreamCall, services: CallServices) {
    this.callId = stream.callId;
    this.#stream = stream;
    this.#services = services;
    this.#log = services.log.child({ callId: stream.callId, ingress: stream.provider });
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    // Until the call is connected, the end of the stream ends the setup (the leg takes over after).
    const onEnded = (): void => {
      this.#streamEnded = true;
      this.#interrupt();
    };
    stream.events.once('ended', onEnded);
    this.#run(onEnded).catch((err: unknown) => {
      this.#log.error({ err: err instanceof Error ? err.stack : String(err) }, 'call failed on our side');
      stream.close();
      this.#finish('internal-error', 500);
    });
  }

  shutdown(): void {
    this.#shuttingDown = true;
    this.#interrupt();
    this.#connected?.hangup('shutdown');
  }

  async #run(onEnded: () => void): Promise<void> {
    const stream = this.#stream;
    const router = this.#services.router;
    const profile =
      (stream.agent !== '' ? router.byName(stream.agent) : null) ?? router.route(stream.to || null);
    if (profile === null) {
      this.#log.info({ agent: stream.agent, to: stream.to }, 'no agent profile for this stream');
      stream.close();
      return this.#finish('rejected', 404);
    }
    this.#profile = profile;
    this.#webhooks = beginCall(this.#services, this.callId, profile, this.#log, {
      from: stream.from,
      to: stream.to,
      dialledUser: stream.to,
    });
    const apiFormat = streamApiFormat(profile, stream.format);
    this.#apiFormat = apiFormat;
    const tools = agentTools(profile, () => this.#connected, this.#services, this.callId, this.#log);
    const agent = await connectAgent(this.#services, profile, apiFormat, tools, this.#interrupted, this.#log);
    if (this.#streamEnded || this.#shuttingDown) {
      await agent?.close();
      stream.close();
      return this.#finish(this.#streamEnded ? 'cancelled' : 'shutdown', this.#streamEnded ? 487 : 503);
    }
    if (agent === null) {
      stream.close();
      return this.#finish('agent-failed', 503);
    }
    stream.events.off('ended', onEnded);
    const answeredAtMs = performance.now();
    tellObserver(this.#services, this.#log, (o) => o.answered(setupMs(this.#startedAtMs, answeredAtMs)));
    this.#webhooks.post('call.answered', { codec: legCodec(stream.format) ?? 'L16' });
    this.#connected = new ConnectedCall({
      callId: this.callId,
      leg: new StreamLeg(stream),
      agent,
      tools,
      webhooks: this.#webhooks,
      profile,
      apiFormat,
      answeredAtMs,
      services: this.#services,
      log: this.#log,
      reconnectAgent: agentReconnector(this.#services, profile, apiFormat, tools, this.#log),
      onEnded: (reason, summary, endedAtMs) => this.#finish(reason, 200, answeredAtMs, summary, endedAtMs),
    });
    if (this.#shuttingDown) this.#connected.hangup('shutdown');
  }

  #finish(
    endReason: CallEndReason,
    status: number,
    answeredAtMs?: number,
    summary?: CallSummary,
    endedAtMs = performance.now(),
  ): void {
    if (this.#recorded) return;
    this.#recorded = true;
    const stream = this.#stream;
    const codec = legCodec(stream.format);
    const record = callRecord(
      {
        callId: this.callId,
        backend: stream.provider,
        from: stream.from,
        to: stream.to,
        dialledUser: stream.to,
        sourceAddress: `ws:${stream.sourceAddress}`,
        ...(this.#profile !== undefined && { agent: this.#profile.name }),
        ...(codec !== null && { codec }),
      },
      this.#apiFormat,
      status,
      endReason,
      { startedAt: this.#startedAt, startedAtMs: this.#startedAtMs, answeredAtMs, endedAtMs },
      summary,
    );
    publishCallEnded(record, this.#services, this.#webhooks, this.#log);
    this.#resolveDone(record);
  }
}

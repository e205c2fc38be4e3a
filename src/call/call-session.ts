// One call, from INVITE to CDR: route it to an agent profile, agree the codec, open the agent's
// realtime session and the RTP ports, answer, then run the two audio paths on the media clock
// until one side ends it. Whatever goes wrong stays inside this call: every failure becomes an
// end reason (CallEndReason), a SIP response or a BYE, never an exception out of here.
import { ignore } from '../observability/ignored-errors.js';
import { performance } from 'node:perf_hooks';
import type { AudioFormat } from '../audio/audio-format.js';
import type { PortPair } from '../media/port-pool.js';
import { PortPoolExhaustedError } from '../media/port-pool.js';
import type { Logger } from '../observability/logger.js';
import type { RealtimeSession } from '../realtime/index.js';
import {
  buildAnswer,
  buildOffer,
  negotiate,
  offeredCrypto,
  parseAnswer,
  parseSdp,
  SdpError,
  type NegotiatedMedia,
} from '../signaling/sdp/index.js';
import type { Dialog, DialogEndReason, IncomingCall, ReferOutcome } from '../signaling/signaling-backend.js';
import type { AgentProfile } from './agent-profile.js';
import { apiAudioFormat } from './agent-session-config.js';
import { agentTools, connectAgent } from './call-agent.js';
import type { CallDetailRecord, CallEndReason } from '../observability/call-detail-record.js';
import type { CallEventWebhooks } from './call-event-webhooks.js';
import {
  beginCall,
  callRecord,
  inboundParties,
  publishCallEnded,
  setupMs,
  tellObserver,
} from './call-record.js';
import { ConnectedCall } from './connected-call.js';
import { SipLeg } from './sip-leg.js';
import type { AgentTools } from './tools/agent-tools.js';
import type { CallServices } from './call-services.js';

const dialogEndReasons: Record<DialogEndReason, CallEndReason> = {
  'local-bye': 'internal-error',
  'remote-bye': 'remote-bye',
  'no-ack': 'no-ack',
  shutdown: 'shutdown',
  'transport-error': 'transport-error',
};

type Refusal = { status: number; reason: string; endReason: CallEndReason };

export class CallSession {
  readonly callId: string;
  /** Resolves with the call's record when it is over (refused calls included); never rejects. */
  readonly done: Promise<CallDetailRecord>;
  readonly #call: IncomingCall;
  readonly #services: CallServices;
  readonly #log: Logger;
  /** When the INVITE arrived (the transport's stamp when the backend has one): setupMs counts from here. */
  readonly #startedAtMs: number;
  readonly #startedAt: Date;
  #resolveDone!: (record: CallDetailRecord) => void;
  #interrupt!: () => void;
  /** Resolves on CANCEL or shutdown(): whatever the setup waits for (agent, ACK) stops waiting. */
  readonly #interrupted = new Promise<void>((resolve) => (this.#interrupt = resolve));
  #cancelled = false;
  #shuttingDown = false;
  #profile: AgentProfile | undefined;
  #negotiated: NegotiatedMedia | undefined;
  #apiFormat: AudioFormat | undefined;
  #connected: ConnectedCall | undefined;
  #tools: AgentTools | undefined;
  #webhooks: CallEventWebhooks | undefined;
  #recorded = false;
  #hangupWanted = false;

  constructor(call: IncomingCall, services: CallServices) {
    this.callId = call.callId;
    this.#call = call;
    const nowMs = performance.now();
    this.#startedAtMs = Math.min(call.receivedAtMs ?? nowMs, nowMs);
    this.#startedAt = new Date(Date.now() - (nowMs - this.#startedAtMs));
    this.#services = services;
    this.#log = services.log.child({ callId: call.callId });
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    call.events.on('cancel', () => {
      this.#cancelled = true;
      this.#interrupt();
    });
    this.#run().catch((err: unknown) => {
      this.#log.error({ err: err instanceof Error ? err.stack : String(err) }, 'call failed on our side');
      this.#refuse({ status: 500, reason: 'Server Internal Error', endReason: 'internal-error' });
    });
  }

  /**
   * Hung up from the REST API or the library: BYE with end reason api-hangup (asked during the
   * setup, the BYE follows the answer at once).
   */
  hangup(): void {
    this.#hangupWanted = true;
    this.#connected?.hangup('api-hangup');
  }

  /** Blind transfer (REFER) of the answered call, from the REST API or the library. */
  transfer(targetUri: string): Promise<ReferOutcome> {
    if (this.#connected === undefined) return Promise.reject(new Error('the call is not answered yet'));
    return this.#connected.transfer(targetUri);
  }

  /** Shutdown after the drain timeout: BYE now (or 503 if not answered yet). */
  shutdown(): void {
    this.#shuttingDown = true;
    this.#interrupt();
    this.#connected?.hangup('shutdown');
  }

  async #run(): Promise<void> {
    const call = this.#call;
    const profile = this.#services.router.route(call.dialledUser === '' ? null : call.dialledUser);
    if (profile === null) return this.#refuse({ status: 404, reason: 'Not Found', endReason: 'rejected' });
    this.#profile = profile;
    this.#tools = this.#agentTools(profile);

    let negotiated: NegotiatedMedia | null = null;
    if (call.offerSdp !== null) {
      try {
        negotiated = negotiate(parseSdp(call.offerSdp), {
          codecs: this.#services.media.codecs,
          ptimeMs: this.#services.media.ptimeMs,
          srtp: this.#services.media.srtp ?? 'off',
        });
      } catch (err) {
        if (!(err instanceof SdpError)) throw err;
        this.#log.info({ err: err.message }, 'unreadable SDP offer');
        return this.#refuse({ status: 400, reason: 'Malformed SDP', endReason: 'rejected' });
      }
      if (negotiated === null) {
        return this.#refuse({ status: 488, reason: 'Not Acceptable Here', endReason: 'rejected' });
      }
    }
    this.#webhooks = beginCall(this.#services, this.callId, profile, this.#log, {
      from: call.from,
      to: call.to,
      dialledUser: call.dialledUser,
    });
    call.progress();

    let pair: PortPair;
    try {
      pair = await this.#services.portPool.allocate();
    } catch (err) {
      if (!(err instanceof PortPoolExhaustedError)) throw err;
      this.#log.warn({ err: err.message }, 'no RTP ports left');
      return this.#refuse({ status: 503, reason: 'Service Unavailable', endReason: 'rejected' });
    }
    try {
      if (negotiated !== null) await this.#answerOffer(negotiated, pair, profile);
      else await this.#answerLateOffer(pair, profile);
    } finally {
      if (this.#connected === undefined) await pair.close();
    }
  }

  /** Normal case: the agent is ready before the 200 OK, so the greeting starts with the call. */
  async #answerOffer(negotiated: NegotiatedMedia, pair: PortPair, profile: AgentProfile): Promise<void> {
    this.#negotiated = negotiated;
    const apiFormat = apiAudioFormat(profile, negotiated.codec);
    this.#apiFormat = apiFormat;
    const agent = await this.#connectAgent(profile, apiFormat);
    if (this.#cancelled || this.#shuttingDown) {
      await agent?.close();
      return this.#refuse(
        this.#cancelled
          ? { status: 487, reason: 'Request Terminated', endReason: 'cancelled' }
          : { status: 503, reason: 'Service Unavailable', endReason: 'shutdown' },
      );
    }
    if (agent === null) {
      return this.#refuse({ status: 503, reason: 'Service Unavailable', endReason: 'agent-failed' });
    }
    const sdp = buildAnswer(negotiated, this.#localMedia(pair));
    const answeredAtMs = performance.now();
    const dialog = await this.#awaitDialog(sdp);
    if (dialog === null) {
      await agent.close();
      return;
    }
    this.#observeAnswered(answeredAtMs);
    this.#connect(dialog, agent, negotiated, pair, profile, apiFormat, answeredAtMs);
  }

  /** INVITE without SDP (RFC 3261 §13.2.1): our offer rides the 200, the answer the ACK. */
  async #answerLateOffer(pair: PortPair, profile: AgentProfile): Promise<void> {
    const media = this.#services.media;
    const crypto = offeredCrypto(media.srtp); // SDES keys when SRTP is required
    const offer = buildOffer({
      ...this.#localMedia(pair),
      codecs: media.codecs,
      ptimeMs: media.ptimeMs,
      crypto,
    });
    const answeredAtMs = performance.now();
    const dialog = await this.#awaitDialog(offer);
    if (dialog === null) return;
    this.#observeAnswered(answeredAtMs);
    let negotiated: NegotiatedMedia;
    try {
      negotiated = parseAnswer(dialog.remoteSdp, { codecs: media.codecs, ptimeMs: media.ptimeMs, crypto });
    } catch (err) {
      this.#log.info({ err: err instanceof Error ? err.message : String(err) }, 'unusable SDP answer in ACK');
      await dialog.hangup();
      return this.#finish('rejected', 200);
    }
    this.#negotiated = negotiated;
    const apiFormat = apiAudioFormat(profile, negotiated.codec);
    this.#apiFormat = apiFormat;
    const agent = await this.#connectAgent(profile, apiFormat);
    if (agent === null) {
      await dialog.hangup();
      return this.#finish('agent-failed', 200, answeredAtMs);
    }
    this.#connect(dialog, agent, negotiated, pair, profile, apiFormat, answeredAtMs);
  }

  #connectAgent(profile: AgentProfile, apiFormat: AudioFormat): Promise<RealtimeSession | null> {
    const tools = (this.#tools ??= this.#agentTools(profile));
    return connectAgent(this.#services, profile, apiFormat, tools, this.#interrupted, this.#log);
  }

  /** 200 OK and wait for the ACK; null when the caller cancelled or never ACKed (already recorded). */
  async #awaitDialog(localSdp: string): Promise<Dialog | null> {
    try {
      const dialog = await Promise.race([this.#call.answer(localSdp), this.#interrupted.then(() => null)]);
      if (dialog === null) {
        this.#log.info('shutdown while waiting for the ACK');
        this.#finish('shutdown', 200);
      }
      return dialog;
    } catch (err) {
      const reason: CallEndReason = this.#cancelled ? 'cancelled' : 'no-ack';
      this.#log.info(
        { err: err instanceof Error ? err.message : String(err) },
        `call not established: ${reason}`,
      );
      this.#finish(reason, this.#cancelled ? 487 : 200);
      return null;
    }
  }

  #connect(
    dialog: Dialog,
    agent: RealtimeSession,
    negotiated: NegotiatedMedia,
    pair: PortPair,
    profile: AgentProfile,
    apiFormat: AudioFormat,
    answeredAtMs: number,
  ): void {
    this.#webhooks?.post('call.answered', { codec: negotiated.codec });
    const leg = new SipLeg({
      dialog,
      negotiated,
      pair,
      localMedia: this.#localMedia(pair),
      rtpTimeoutSec: this.#services.media.rtpTimeoutSec,
      dialogEndReason: (reason) => dialogEndReasons[reason],
      log: this.#log,
    });
    this.#connected = new ConnectedCall({
      callId: dialog.callId,
      leg,
      startMuted: leg.muted,
      agent,
      tools: this.#tools ?? this.#agentTools(profile),
      ...(this.#webhooks !== undefined && { webhooks: this.#webhooks }),
      profile,
      apiFormat,
      answeredAtMs,
      services: this.#services,
      log: this.#log,
      reconnectAgent: () => this.#connectAgent(profile, apiFormat),
      onEnded: (endReason, summary, endedAtMs) => {
        this.#finish(endReason, 200, answeredAtMs, summary, endedAtMs);
        void pair.close().catch(ignore('call.port-pair-close'));
      },
    });
    if (this.#shuttingDown) this.#connected.hangup('shutdown');
    else if (this.#hangupWanted) this.#connected.hangup('api-hangup');
  }

  #agentTools(profile: AgentProfile): AgentTools {
    return agentTools(profile, () => this.#connected, this.#services, this.callId, this.#log);
  }

  #localMedia(pair: PortPair): { address: string; port: number; sessionId: string } {
    return {
      address: this.#services.media.advertisedAddress,
      port: pair.rtpPort,
      sessionId: String(Math.floor(this.#startedAt.getTime() / 1000)),
    };
  }

  #refuse(refusal: Refusal): void {
    if (this.#recorded) return;
    try {
      this.#call.reject(
        refusal.status,
        refusal.reason,
        refusal.status === 503 ? { 'Retry-After': String(this.#services.retryAfterSec) } : {},
      );
    } catch (err) {
      this.#log.debug(
        { err: err instanceof Error ? err.message : String(err) },
        'reject after the call ended',
      );
    }
    this.#finish(refusal.endReason, refusal.status);
  }

  /** INVITE received → 200 OK sent: the CDR's setupMs and the setup histogram's sample. */
  /** The ACK came: the setup time is known now, so the metrics see it now, not at the call's end. */
  #observeAnswered(answeredAtMs: number): void {
    tellObserver(this.#services, this.#log, (o) => o.answered(setupMs(this.#startedAtMs, answeredAtMs)));
  }

  #finish(
    endReason: CallEndReason,
    sipStatus: number,
    answeredAtMs?: number,
    summary?: ReturnType<ConnectedCall['summary']>,
    endedAtMs = performance.now(),
  ): void {
    if (this.#recorded) return;
    this.#recorded = true;
    const record = callRecord(
      {
        ...inboundParties(this.#call, this.#services.backendName),
        ...(this.#profile !== undefined && { agent: this.#profile.name }),
        ...(this.#negotiated !== undefined && { codec: this.#negotiated.codec }),
      },
      this.#apiFormat,
      sipStatus,
      endReason,
      { startedAt: this.#startedAt, startedAtMs: this.#startedAtMs, answeredAtMs, endedAtMs },
      summary,
    );
    publishCallEnded(record, this.#services, this.#webhooks, this.#log);
    this.#resolveDone(record);
  }
}

// One call we place, from INVITE to CDR: our offer on a fresh RTP port pair, the INVITE through a
// trunk (digest on 401/407 and CANCEL on timeout are the signaling layer's), ringing while
// provisional responses come (early media is not played to the agent: it starts on the 200), then
// on the answer the agent's realtime session and the same ConnectedCall as an inbound SIP call
// (greeting, barge-in, tools, records). A call that is never answered ends with a reason from its
// final status: busy (486/600), no-answer (our ring timeout), failed (anything else).
// With waitForCallee the greeting waits for the callee: it is spoken after the callee's first
// words end or after a short silence, so a human's "hello" or a voicemail greeting is not talked over.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { AudioFormat } from '../audio/audio-format.js';
import type { PortPair } from '../media/port-pool.js';
import { PortPoolExhaustedError } from '../media/port-pool.js';
import type { CallDetailRecord, CallEndReason } from '../observability/call-detail-record.js';
import { ignore } from '../observability/ignored-errors.js';
import type { Logger } from '../observability/logger.js';
import type { RealtimeSession } from '../realtime/index.js';
import {
  buildOffer,
  offeredCrypto,
  parseAnswer,
  type NegotiatedMedia,
  type SdesCrypto,
} from '../signaling/sdp/index.js';
import type {
  Dialog,
  DialogEndReason,
  OutboundInvite,
  PlacedCall,
  ReferOutcome,
} from '../signaling/signaling-backend.js';
import { uriHost } from '../signaling/sip-uri.js';
import type { AgentProfile } from './agent-profile.js';
import { apiAudioFormat, greetingInstructions } from './agent-session-config.js';
import { agentReconnector, agentTools, connectAgent } from './call-agent.js';
import type { CallEventWebhooks } from './call-event-webhooks.js';
import { beginCall, callRecord, publishCallEnded, tellObserver } from './call-record.js';
import type { CallServices } from './call-services.js';
import { ConnectedCall, type CallSummary } from './connected-call.js';
import { SipLeg } from './sip-leg.js';

export type OutboundCallState = 'dialing' | 'ringing' | 'answered' | 'ended';

/** What the trunk adds to the INVITE (route, From, credentials, ring timeout). */
export type TrunkInvite = Omit<OutboundInvite, 'target' | 'offerSdp' | 'callId' | 'signal' | 'onProgress'>;

export interface OutboundCallRequest {
  /** The INVITE's Call-ID, and the call's id everywhere (API, CDR, logs). */
  readonly callId: string;
  /** Request-URI. */
  readonly target: string;
  /** Number or URI as asked (the CDR's `to`). */
  readonly to: string;
  readonly trunk: string;
  /** The profile with the request's variables already filled in. */
  readonly profile: AgentProfile;
  readonly invite: TrunkInvite;
  /** Speak the greeting only after the callee's first words or `calleeSilenceMs` of silence. */
  readonly waitForCallee?: boolean;
  /** Default 2000. */
  readonly calleeSilenceMs?: number;
}

export type PlaceInvite = (invite: OutboundInvite) => Promise<PlacedCall>;

const dialogEndReasons: Record<DialogEndReason, CallEndReason> = {
  'local-bye': 'internal-error',
  'remote-bye': 'remote-bye',
  'no-ack': 'no-ack',
  shutdown: 'shutdown',
  'transport-error': 'transport-error',
};

/** Final status of a call we placed → why it ended (our own ring timeout is 408 from the signaling layer). */
function failureReason(status: number | undefined): CallEndReason {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408) return 'no-answer';
  return 'failed';
}

export class OutboundCallSession {
  readonly callId: string;
  readonly direction = 'outbound' as const;
  readonly request: OutboundCallRequest;
  readonly startedAt = new Date();
  readonly done: Promise<CallDetailRecord>;
  readonly events = new EventEmitter<{ state: [OutboundCallState] }>();
  readonly #services: CallServices;
  readonly #place: PlaceInvite;
  readonly #log: Logger;
  readonly #startedAtMs = performance.now();
  readonly #abort = new AbortController();
  #resolveDone!: (record: CallDetailRecord) => void;
  #state: OutboundCallState = 'dialing';
  /** Why we end it ourselves before the answer (API hangup, shutdown). */
  #stopReason: CallEndReason | null = null;
  #negotiated: NegotiatedMedia | undefined;
  #apiFormat: AudioFormat | undefined;
  #dialog: Dialog | undefined;
  #connected: ConnectedCall | undefined;
  #webhooks: CallEventWebhooks | undefined;
  #answeredAtMs: number | undefined;
  #recorded = false;
  #connectedReady!: (call: ConnectedCall | null) => void;
  readonly #whenConnected = new Promise<ConnectedCall | null>((resolve) => (this.#connectedReady = resolve));

  constructor(request: OutboundCallRequest, services: CallServices, place: PlaceInvite) {
    this.callId = request.callId;
    this.request = request;
    this.#services = services;
    this.#place = place;
    this.#log = services.log.child({ callId: request.callId, direction: 'outbound', trunk: request.trunk });
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#run().catch((err: unknown) => {
      this.#log.error({ err: err instanceof Error ? err.stack : String(err) }, 'call failed on our side');
      this.#abort.abort();
      if (this.#connected !== undefined) this.#connected.hangup('internal-error');
      else this.#finish('internal-error', 500);
    });
  }

  /** The From we present (trunk's fromUser/fromDomain, else ours). */
  get from(): string {
    return this.#from();
  }

  get state(): OutboundCallState {
    return this.#state;
  }

  get answeredAt(): Date | undefined {
    return this.#answeredAtMs === undefined
      ? undefined
      : new Date(this.startedAt.getTime() + (this.#answeredAtMs - this.#startedAtMs));
  }

  /** Hang up (BYE), or CANCEL while it rings; the record says api-hangup. */
  hangup(): void {
    this.#stop('api-hangup');
  }

  shutdown(): void {
    this.#stop('shutdown');
  }

  /** Blind transfer of the answered call (REFER); the agent leaves first. */
  async transfer(targetUri: string): Promise<ReferOutcome> {
    if (this.#state !== 'answered') throw new Error(`the call is ${this.#state}, not answered`);
    // Answered but the agent still connecting: the transfer waits for the call to be up.
    const connected = this.#connected ?? (await this.#whenConnected);
    if (connected === null) throw new Error('the call ended before it was connected');
    return connected.transfer(targetUri);
  }

  #stop(reason: CallEndReason): void {
    if (this.#connected !== undefined) {
      this.#connected.hangup(reason);
      return;
    }
    this.#stopReason ??= reason;
    this.#abort.abort();
    // Answered, agent still connecting: the BYE goes now; #run records the call.
    this.#dialog?.hangup().catch(ignore('outbound.hangup-before-agent'));
    // No response yet: the CANCEL must wait for a provisional response (RFC 3261 §9.1), possibly
    // until Timer B; the call is over for us now (a late 2xx gets ACK + BYE from sip.js).
    if (this.#state === 'dialing') this.#finish(reason, 487);
  }

  #setState(state: OutboundCallState): void {
    if (this.#state === state || this.#state === 'ended') return;
    this.#state = state;
    this.events.emit('state', state);
  }

  async #run(): Promise<void> {
    const { profile } = this.request;
    this.#webhooks = beginCall(this.#services, this.callId, profile, this.#log, {
      from: this.#from(),
      to: this.request.to,
      dialledUser: this.request.to,
      direction: 'outbound',
    });
    let pair: PortPair;
    try {
      pair = await this.#services.portPool.allocate();
    } catch (err) {
      if (!(err instanceof PortPoolExhaustedError)) throw err;
      this.#log.warn({ err: err.message }, 'no RTP ports left for an outbound call');
      return this.#finish('failed', 503);
    }
    // waitForCallee: the greeting is the agent's first words whenever it speaks first.
    const waitForCallee = this.request.waitForCallee === true && profile.greeting !== undefined;
    const effective = waitForCallee
      ? {
          ...profile,
          instructions: `${profile.instructions}\n\nWhen the callee has answered, begin with: "${profile.greeting}"`,
        }
      : profile;
    try {
      await this.#dial(pair, effective, waitForCallee);
    } finally {
      if (this.#connected === undefined) await pair.close();
    }
  }

  async #dial(pair: PortPair, profile: AgentProfile, waitForCallee: boolean): Promise<void> {
    const media = this.#services.media;
    const crypto: SdesCrypto[] = offeredCrypto(media.srtp);
    const offerSdp = buildOffer({
      ...this.#localMedia(pair),
      codecs: media.codecs,
      ptimeMs: media.ptimeMs,
      crypto,
    });
    if (this.#stopReason !== null) return this.#finish(this.#stopReason, 487);
    let placed: PlacedCall;
    try {
      placed = await this.#place({
        ...this.request.invite,
        target: this.request.target,
        offerSdp,
        callId: this.callId,
        signal: this.#abort.signal,
        onProgress: (status) => {
          this.#log.debug({ status }, 'provisional response');
          this.#setState('ringing');
        },
      });
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      const sipStatus = typeof status === 'number' ? status : undefined;
      const reason = this.#stopReason ?? failureReason(sipStatus);
      this.#log.info(
        { err: err instanceof Error ? err.message : String(err), sipStatus },
        `not answered: ${reason}`,
      );
      return this.#finish(reason, sipStatus ?? 500);
    }
    const answeredAtMs = performance.now();
    this.#answeredAtMs = answeredAtMs;
    const dialog = placed.dialog;
    this.#dialog = dialog;
    this.#setState('answered');
    this.#observeAnswered(Math.round(placed.setupMs));
    if (this.#stopReason !== null) {
      await dialog.hangup();
      return this.#finish(this.#stopReason, 200, answeredAtMs);
    }
    let negotiated: NegotiatedMedia;
    try {
      negotiated = parseAnswer(placed.remoteSdp, { codecs: media.codecs, ptimeMs: media.ptimeMs, crypto });
    } catch (err) {
      this.#log.info({ err: err instanceof Error ? err.message : String(err) }, 'unusable SDP answer');
      await dialog.hangup();
      return this.#finish('failed', 200, answeredAtMs);
    }
    this.#negotiated = negotiated;
    const apiFormat = apiAudioFormat(profile, negotiated.codec);
    this.#apiFormat = apiFormat;
    // The callee hung up while the agent connects: the dialog ends the setup.
    let hungUp!: () => void;
    const ended = new Promise<void>((resolve) => (hungUp = resolve));
    const onEnd = (): void => hungUp();
    dialog.events.once('terminated', onEnd);
    const stopped = new Promise<void>((resolve) =>
      this.#abort.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    const tools = agentTools(profile, () => this.#connected, this.#services, this.callId, this.#log);
    const agent = await connectAgent(
      this.#services,
      profile,
      apiFormat,
      tools,
      Promise.race([ended, stopped]),
      this.#log,
    );
    dialog.events.off('terminated', onEnd);
    if (this.#stopReason !== null || agent === null) {
      await agent?.close();
      await dialog.hangup();
      return this.#finish(this.#stopReason ?? 'agent-failed', 200, answeredAtMs);
    }
    this.#webhooks?.post('call.answered', { codec: negotiated.codec });
    const leg = new SipLeg({
      dialog,
      negotiated,
      pair,
      localMedia: this.#localMedia(pair),
      rtpTimeoutSec: media.rtpTimeoutSec,
      dialogEndReason: (reason) => dialogEndReasons[reason],
      log: this.#log,
    });
    const { greeting: _greeting, ...withoutGreeting } = profile;
    this.#connected = new ConnectedCall({
      callId: this.callId,
      leg,
      startMuted: leg.muted,
      agent,
      tools,
      ...(this.#webhooks !== undefined && { webhooks: this.#webhooks }),
      profile: waitForCallee ? withoutGreeting : profile,
      apiFormat,
      answeredAtMs,
      services: this.#services,
      log: this.#log,
      reconnectAgent: agentReconnector(this.#services, profile, apiFormat, tools, this.#log),
      onEnded: (endReason, summary, endedAtMs) => {
        this.#finish(endReason, 200, answeredAtMs, summary, endedAtMs);
        void pair.close().catch(ignore('outbound.port-pair-close'));
      },
    });
    this.#connectedReady(this.#connected);
    if (waitForCallee) this.#greetAfterCallee(agent, profile.greeting!);
  }

  /**
   * waitForCallee: the agent's turn detection hears the callee's "hello" and answers it by itself
   * (with the greeting in its instructions); when the callee says nothing for calleeSilenceMs, the
   * greeting is spoken then.
   */
  #greetAfterCallee(agent: RealtimeSession, greeting: string): void {
    let spoke = false;
    const onSpeech = (): void => {
      spoke = true;
    };
    agent.once('speech_started', onSpeech);
    const timer = setTimeout(() => {
      agent.off('speech_started', onSpeech);
      if (spoke || this.#state === 'ended') return;
      this.#log.debug('callee silent: greeting now');
      agent.createResponse({ instructions: greetingInstructions(greeting) });
    }, this.request.calleeSilenceMs ?? 2000);
    timer.unref();
  }

  #from(): string {
    const invite = this.request.invite;
    return `sip:${invite.fromUser ?? 'grok-sip'}@${invite.fromDomain ?? uriHost(this.#services.media.advertisedAddress)}`;
  }

  #localMedia(pair: PortPair): { address: string; port: number; sessionId: string } {
    return {
      address: this.#services.media.advertisedAddress,
      port: pair.rtpPort,
      sessionId: String(Math.floor(this.startedAt.getTime() / 1000)),
    };
  }

  #observeAnswered(setupMs: number): void {
    tellObserver(this.#services, this.#log, (o) => o.answered(setupMs));
  }

  #finish(
    endReason: CallEndReason,
    sipStatus: number,
    answeredAtMs?: number,
    summary?: CallSummary,
    endedAtMs = performance.now(),
  ): void {
    if (this.#recorded) return;
    this.#recorded = true;
    this.#connectedReady(null);
    this.#setState('ended');
    const record = callRecord(
      {
        callId: this.callId,
        direction: 'outbound',
        trunk: this.request.trunk,
        backend: this.#services.backendName,
        from: this.#from(),
        to: this.request.to,
        dialledUser: this.request.to,
        sourceAddress: this.request.target,
        agent: this.request.profile.name,
        ...(this.#negotiated !== undefined && { codec: this.#negotiated.codec }),
      },
      this.#apiFormat,
      sipStatus,
      endReason,
      { startedAt: this.startedAt, startedAtMs: this.#startedAtMs, answeredAtMs, endedAtMs },
      summary,
    );
    publishCallEnded(record, this.#services, this.#webhooks, this.#log);
    this.#resolveDone(record);
  }
}

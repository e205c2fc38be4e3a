// An answered call: the call leg (RTP + SIP dialog, or a carrier media stream), the two audio
// paths and the agent's realtime session, run by the one media clock until somebody hangs up.
// Conversation behaviour lives here: greeting, barge-in, DTMF to the agent, tools, transcripts,
// recording, agent failure → prompt + hang-up.
import { ignore } from '../observability/ignored-errors.js';
import { performance } from 'node:perf_hooks';
import type { AudioFormat } from '../audio/audio-format.js';
import type { DtmfDigit } from '../media/dtmf-event.js';
import type { MediaClockSubscriber } from '../media/media-clock.js';
import type { Logger } from '../observability/logger.js';
import type { RealtimeError, RealtimeFunctionCall, RealtimeSession } from '../realtime/index.js';
import { waitAtMost } from '../signaling/wait-at-most.js';
import type { ReferOutcome } from '../signaling/signaling-backend.js';
import type { AgentProfile } from './agent-profile.js';
import { greetingInstructions } from './agent-session-config.js';
import { AgentToCaller } from './agent-to-caller.js';
import type { CallDetailRecord, CallEndReason } from '../observability/call-detail-record.js';
import type { CallEventWebhooks } from './call-event-webhooks.js';
import { CallRecording } from './call-recording.js';
import type { CallLeg } from './call-leg.js';
import type { CallServices } from './call-services.js';
import { CallerToAgent } from './caller-to-agent.js';
import { dtmfTurnText } from './dtmf-input.js';
import { fallbackPromptFrames } from './fallback-prompt.js';
import type { AgentTools } from './tools/agent-tools.js';
import type { CallControl } from './tools/call-control.js';
import { TranscriptLog } from './transcript-log.js';

export type CallSummary = Pick<
  CallDetailRecord,
  | 'media'
  | 'firstAgentAudioMs'
  | 'bargeIns'
  | 'turns'
  | 'dtmfDigits'
  | 'realtimeErrors'
  | 'realtimeReconnects'
  | 'realtimeRenewals'
  | 'staleAgentAudioDrops'
  | 'usage'
  | 'transferTarget'
>;

export interface ConnectedCallOptions {
  readonly callId: string;
  readonly leg: CallLeg;
  /** The leg starts on hold (an offer with sendonly/inactive): no audio to the caller yet. */
  readonly startMuted?: boolean;
  readonly agent: RealtimeSession;
  readonly tools: AgentTools;
  /** The profile's call-event webhooks (transcript, dtmf). */
  readonly webhooks?: CallEventWebhooks;
  readonly profile: AgentProfile;
  readonly apiFormat: AudioFormat;
  readonly answeredAtMs: number;
  readonly services: CallServices;
  readonly log: Logger;
  /** A fresh agent session with the call's config (after a failed transfer); null if it fails. */
  readonly reconnectAgent: () => Promise<RealtimeSession | null>;
  /** `endedAtMs` on the performance.now() timeline: the CDR's end, whatever came after it. */
  readonly onEnded: (reason: CallEndReason, summary: CallSummary, endedAtMs: number) => void;
}

/** Safety net for end_call when the model never finishes its farewell. */
const defaultHangupTimeoutMs = 5000;
/** Most the CDR waits for the recording's last writes (a hung NFS mount must not hold the call). */
const recordingCloseTimeoutMs = 5000;

export class ConnectedCall implements CallControl, MediaClockSubscriber {
  readonly #o: ConnectedCallOptions;
  readonly #log: Logger;
  readonly #leg: CallLeg;
  readonly #callerToAgent: CallerToAgent;
  readonly #agentToCaller: AgentToCaller;
  readonly #transcripts: TranscriptLog | undefined;
  readonly #recording: CallRecording | undefined;
  readonly #unsubscribeClock: () => void;
  #agent: RealtimeSession | null;
  #responseActive = false;
  #ending: CallEndReason | null = null;
  #hangupAfterPlayout: { deadlineMs: number; reason: CallEndReason } | null = null;
  #ended = false;
  #speechStoppedAtMs: number | null = null;
  #firstAgentAudioMs: number | undefined;
  #transferTarget: string | undefined;
  #counts = {
    bargeIns: 0,
    turns: 0,
    dtmfDigits: 0,
    realtimeErrors: 0,
    realtimeReconnects: 0,
    realtimeRenewals: 0,
  };
  #sessionBillable = 0;
  #billableOfEndedSessions = 0;
  #usage:
    | { outputAudioSeconds: number; billableAudioSeconds: number; inputTokens: number; outputTokens: number }
    | undefined;

  constructor(options: ConnectedCallOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#agent = options.agent;
    const { leg, services, apiFormat } = options;
    this.#leg = leg;
    const dir = services.media;
    this.#transcripts =
      dir.transcriptsDir !== undefined
        ? new TranscriptLog(dir.transcriptsDir, options.callId, this.#log)
        : undefined;
    this.#recording =
      dir.recordingsDir !== undefined
        ? new CallRecording(dir.recordingsDir, options.callId, apiFormat, leg.format, this.#log)
        : undefined;

    this.#callerToAgent = new CallerToAgent({
      legFormat: leg.format,
      apiFormat,
      jitter: dir.jitter,
      sendToAgent: (frame) => this.#agent?.appendAudio(frame),
      ...(this.#recording && { onFrame: (frame: Buffer) => this.#recording!.caller(frame) }),
    });
    this.#agentToCaller = new AgentToCaller({
      apiFormat,
      legFormat: leg.format,
      sink: leg,
      onFrameSent: (payload, nowMs) => this.#onAgentFrameSent(payload, nowMs),
    });
    this.#agentToCaller.setMuted(options.startMuted === true);

    const events = leg.events;
    events.on('audio', (p) => this.#callerToAgent.onAudioPacket(p));
    events.on('non-audio', (p) => this.#callerToAgent.onNonAudioPacket(p));
    events.on('dtmf', (digit) => this.#onDigit(digit));
    events.on('muted', (muted) => this.#agentToCaller.setMuted(muted));
    events.on('hangup-wanted', (reason) => this.hangup(reason));
    events.on('ended', (reason) => this.#end(reason));

    this.#attachAgent(options.agent);
    this.#unsubscribeClock = services.clock.subscribe(this);
    if (options.profile.greeting !== undefined) {
      options.agent.createResponse({ instructions: greetingInstructions(options.profile.greeting) });
    }
  }

  /** Media clock: caller frame to the agent, agent frame to the caller, every 20 ms. */
  tick(nowMs: number): void {
    this.#callerToAgent.tick(nowMs);
    this.#agentToCaller.tick(nowMs);
    this.#recording?.endTick();
    const pending = this.#hangupAfterPlayout;
    if (pending !== null) {
      // A carrier stream still buffers what we sent: the farewell is over once its marks say so.
      const drained =
        this.#agentToCaller.pendingMs === 0 && !this.#responseActive && this.#leg.unheardMs === 0;
      if (drained || nowMs >= pending.deadlineMs) this.hangup(pending.reason);
    }
  }

  // --- CallControl (the agent's tools) ---

  hangupAfterPlayout(timeoutMs: number): void {
    this.#hangupAfterPlayout ??= {
      deadlineMs: performance.now() + (timeoutMs || defaultHangupTimeoutMs),
      reason: 'agent-hangup',
    };
  }

  async transfer(targetUri: string): Promise<ReferOutcome> {
    // Close the agent first: its audio must not bleed into the transferred leg (jambonz fix).
    this.#detachAgent();
    this.#agentToCaller.bargeIn();
    const outcome = await this.#leg.transfer(targetUri);
    this.#transcripts?.write({
      role: 'event',
      text: `transfer to ${targetUri}: ${outcome.status} ${outcome.reason}`,
    });
    if (outcome.accepted && outcome.status >= 200 && outcome.status < 300) {
      this.#transferTarget = targetUri;
      this.hangup('transfer');
      return outcome;
    }
    // The transfer failed: bring an agent back so the caller is not left in silence.
    this.#log.warn({ targetUri, status: outcome.status }, 'transfer failed: agent back on the line');
    const agent = this.#ending === null ? await this.#o.reconnectAgent() : null;
    if (agent === null) {
      this.#agentFailed();
      return outcome;
    }
    if (this.#ending !== null) {
      void agent.close().catch(ignore('call.agent-close'));
      return outcome;
    }
    this.#attachAgent(agent);
    agent.sendUserText(
      `[The transfer to ${targetUri} failed (${outcome.status} ${outcome.reason}). Tell the caller.]`,
    );
    return outcome;
  }

  sendDtmf(digits: string): Promise<void> {
    return this.#leg.sendDtmf(digits);
  }

  /** BYE (or the stream closed) now (idempotent). */
  hangup(reason: CallEndReason): void {
    if (this.#ending !== null || this.#ended) return;
    this.#ending = reason;
    this.#leg.hangup().then(
      () => this.#end(reason),
      () => this.#end(reason),
    );
  }

  summary(): CallSummary {
    const leg = this.#leg.stats();
    const inbound = this.#callerToAgent.stats();
    const outbound = this.#agentToCaller.stats();
    return {
      media: {
        packetsIn: leg.packetsIn,
        packetsOut: leg.packetsOut,
        lost: inbound.lost,
        late: inbound.late,
        jitterMs: Math.round(leg.jitterMs * 10) / 10,
        concealedFrames: inbound.concealed,
        playoutUnderruns: outbound.underruns,
      },
      ...(this.#firstAgentAudioMs !== undefined && { firstAgentAudioMs: this.#firstAgentAudioMs }),
      ...this.#counts,
      staleAgentAudioDrops: this.#agentToCaller.staleDeltas,
      ...(this.#usage !== undefined && { usage: { ...this.#usage } }),
      ...(this.#transferTarget !== undefined && { transferTarget: this.#transferTarget }),
    };
  }

  // --- the agent ---

  #attachAgent(agent: RealtimeSession): void {
    this.#newRealtimeSession();
    this.#agent = agent;
    agent.on('audio', (event) => {
      if (this.#agent === agent) this.#agentToCaller.onAgentAudio(event);
    });
    agent.on('response_started', () => {
      this.#responseActive = true;
    });
    agent.on('response_done', ({ responseId, usage }) => {
      this.#responseActive = false;
      this.#counts.turns++;
      this.#agentToCaller.onResponseDone(responseId);
      if (usage !== undefined) {
        const sum = (this.#usage ??= {
          outputAudioSeconds: 0,
          billableAudioSeconds: 0,
          inputTokens: 0,
          outputTokens: 0,
        });
        sum.outputAudioSeconds += usage.outputAudioSeconds;
        // Cumulative per realtime session on the service: the latest value of this session,
        // plus what earlier sessions of the call ended with.
        this.#sessionBillable = Math.max(this.#sessionBillable, usage.sessionBillableAudioSeconds);
        sum.billableAudioSeconds = this.#billableOfEndedSessions + this.#sessionBillable;
        sum.inputTokens += usage.inputTokens;
        sum.outputTokens += usage.outputTokens;
      }
    });
    agent.on('speech_started', () => this.#onCallerSpeech(agent));
    agent.on('speech_stopped', () => {
      this.#speechStoppedAtMs = performance.now();
    });
    agent.on('transcript', (t) => {
      if (!t.final) return;
      this.#transcripts?.write({ role: t.role, text: t.text, itemId: t.itemId });
      this.#o.webhooks?.post('transcript', { role: t.role, text: t.text });
    });
    agent.on('function_call', (call) => void this.#onFunctionCall(agent, call));
    agent.on('error', (err) => this.#onAgentError(err));
    agent.on('reconnected', () => {
      this.#counts.realtimeReconnects++;
      this.#newRealtimeSession();
    });
    agent.on('renewed', ({ reason }) => {
      this.#newRealtimeSession();
      this.#counts.realtimeRenewals++;
      this.#log.info({ reason }, 'agent session renewed by the service; the call goes on');
    });
    agent.on('closed', ({ reason, message }) => {
      if (this.#agent !== agent || reason === 'client') return;
      this.#log.warn({ reason, message }, 'agent session lost');
      this.#agentFailed();
    });
  }

  /** A new session on the service: its billable audio counts from zero again. */
  #newRealtimeSession(): void {
    this.#billableOfEndedSessions += this.#sessionBillable;
    this.#sessionBillable = 0;
  }

  #detachAgent(): void {
    const agent = this.#agent;
    this.#agent = null;
    this.#responseActive = false;
    if (agent !== null) void agent.close().catch(ignore('call.agent-close'));
  }

  /**
   * Barge-in: the caller talks over the agent. Empty the playout queue now (the next tick sends
   * nothing), cancel the response, and tell the model how much of its item was heard.
   */
  #onCallerSpeech(agent: RealtimeSession): void {
    this.#speechStoppedAtMs = null;
    if (this.#agent !== agent) return;
    const talking = this.#responseActive || this.#agentToCaller.pendingMs > 0;
    if (!talking || this.#hangupAfterPlayout !== null) return;
    // What the far end still buffers was sent but not heard (Twilio marks, Vonage notify).
    const unheardMs = this.#leg.unheardMs;
    this.#leg.clearPlayout();
    const { droppedMs, interrupted } = this.#agentToCaller.bargeIn();
    if (this.#responseActive) agent.cancelResponse();
    if (interrupted !== null)
      agent.truncate(interrupted.itemId, Math.max(0, interrupted.playedMs - unheardMs));
    this.#counts.bargeIns++;
    this.#o.services.observer?.bargeIn();
    this.#log.debug({ droppedMs, unheardMs, ...interrupted }, 'barge-in');
  }

  async #onFunctionCall(agent: RealtimeSession, call: RealtimeFunctionCall): Promise<void> {
    const { output, reply } = await this.#o.tools.handle(call);
    // A transfer closes this agent; its result has nowhere to go.
    if (this.#agent !== agent) return;
    agent.sendFunctionResult(call.callId, output, { respond: reply });
  }

  #onAgentError(err: RealtimeError): void {
    if (err.benign) return;
    this.#counts.realtimeErrors++;
    this.#o.services.observer?.realtimeError(err.fatal ? 'fatal' : 'benign');
  }

  /** The agent is gone for good: a short prompt so the line does not just go dead, then BYE. */
  #agentFailed(): void {
    if (this.#ending !== null) return;
    this.#detachAgent();
    const promptMs = this.#agentToCaller.playPrompt(fallbackPromptFrames(this.#leg.format));
    // The margin covers a carrier's marks coming back; on RTP the queue drains at promptMs.
    this.#hangupAfterPlayout = { deadlineMs: performance.now() + promptMs + 1000, reason: 'agent-failed' };
  }

  // --- the caller ---

  #onDigit(digit: DtmfDigit): void {
    this.#counts.dtmfDigits++;
    this.#transcripts?.write({ role: 'dtmf', text: digit });
    this.#o.webhooks?.post('dtmf', { digit });
    this.#agent?.sendUserText(dtmfTurnText(digit));
  }

  #onAgentFrameSent(payload: Buffer, nowMs: number): void {
    this.#recording?.agent(payload);
    if (this.#firstAgentAudioMs === undefined) {
      this.#firstAgentAudioMs = Math.round(nowMs - this.#o.answeredAtMs);
      this.#o.services.observer?.firstAgentAudio(this.#firstAgentAudioMs);
    }
    if (this.#speechStoppedAtMs !== null) {
      this.#o.services.observer?.turnLatency(nowMs - this.#speechStoppedAtMs);
      this.#speechStoppedAtMs = null;
    }
  }

  #end(reason: CallEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    const finalReason = this.#ending ?? reason;
    const endedAtMs = performance.now();
    this.#unsubscribeClock();
    this.#detachAgent();
    const recorded = this.#recording?.close();
    void this.#transcripts?.close().catch(ignore('call.transcript-close'));
    const summary = this.summary();
    void this.#leg.close().catch(ignore('call.leg-close'));
    if (recorded === undefined) return this.#o.onEnded(finalReason, summary, endedAtMs);
    // The recording is whole on disk before the CDR says the call is over (a call.ended webhook
    // may fetch it); a hung disk holds the CDR back no longer than this.
    void waitAtMost(recorded, recordingCloseTimeoutMs, 'call.recording-close').then(() =>
      this.#o.onEnded(finalReason, summary, endedAtMs),
    );
  }
}

// One record per call (CDR): what happened, how long it took, how the media fared. Written by
// CallSession when the call is over; read by the metrics, the CDR log line and the webhooks.

/** Why a call ended; lands in the log, the CDR and the `calls_total{result}` metric. */
export type CallEndReason =
  /** Refused before answer: policy, routing (404), no common codec (488), capacity (503). */
  | 'rejected'
  /** The caller sent CANCEL before we answered. */
  | 'cancelled'
  /** 200 OK sent but no ACK came (Timer H). */
  | 'no-ack'
  | 'remote-bye'
  /** The agent's end_call tool. */
  | 'agent-hangup'
  /** The agent's transfer tool (REFER accepted). */
  | 'transfer'
  /** No RTP (nor RTCP) for media.rtpTimeoutSec. */
  | 'rtp-timeout'
  /** The realtime session could not be opened, or was lost and the one reconnect failed. */
  | 'agent-failed'
  /** Drained or forced down by SIGTERM/SIGINT. */
  | 'shutdown'
  | 'transport-error'
  /** A carrier media stream broke its protocol (bad JSON, wrong order, wrong frame size, flood). */
  | 'stream-error'
  /** A bug on our side, caught at the call boundary. */
  | 'internal-error'
  /** Outbound: the callee answered 486/600 (busy everywhere). */
  | 'busy'
  /** Outbound: no answer within the ring timeout (we sent CANCEL). */
  | 'no-answer'
  /** Outbound: any other final 4xx-6xx, or the INVITE could not be sent (sipStatus says which). */
  | 'failed'
  /** Hung up through the REST API or the library (DELETE /v1/calls/{id}, call.hangup()). */
  | 'api-hangup';

export interface CallMediaSummary {
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** Packets the jitter buffer never received (sequence gaps). */
  readonly lost: number;
  /** Arrived after their playout time. */
  readonly late: number;
  /** Interarrival jitter, RFC 3550 §6.4.1, in ms (last value). */
  readonly jitterMs: number;
  /** 20 ms frames filled by packet-loss concealment. */
  readonly concealedFrames: number;
  /** Outbound ticks with the call answered, agent talking, and nothing queued. */
  readonly playoutUnderruns: number;
}

export interface CallDetailRecord {
  readonly callId: string;
  /** outbound: placed by us through a trunk (absent: inbound). */
  readonly direction?: 'inbound' | 'outbound';
  /** The trunk an outbound call went through. */
  readonly trunk?: string;
  /** The SIP backend, or the carrier whose media stream carried the call. */
  readonly backend: 'embedded' | 'drachtio' | 'twilio' | 'vonage';
  readonly from: string;
  readonly to: string;
  readonly dialledUser: string;
  readonly sourceAddress: string;
  /** Agent profile name; undefined when the call was refused before routing. */
  readonly agent?: string;
  readonly codec?: 'PCMU' | 'PCMA';
  /** Realtime API audio format: pcmu, pcma, pcm16, pcm24. */
  readonly apiFormat?: string;
  /** Final SIP status we sent to the INVITE (200, 404, 486, 487, 488, 503 …); outbound: the one we got. */
  readonly sipStatus: number;
  readonly endReason: CallEndReason;
  /** ISO-8601 wall clock. */
  readonly startedAt: string;
  readonly answeredAt?: string;
  readonly endedAt: string;
  readonly durationMs: number;
  /** INVITE received → 200 OK sent (outbound: INVITE sent → 200 OK received). */
  readonly setupMs?: number;
  /** 200 OK sent → first agent audio packet on RTP. */
  readonly firstAgentAudioMs?: number;
  readonly media?: CallMediaSummary;
  readonly bargeIns: number;
  readonly turns: number;
  readonly dtmfDigits: number;
  readonly realtimeErrors: number;
  readonly realtimeReconnects: number;
  /** Realtime sessions the service ended mid-call (timeout, max_duration) that a new one took over. */
  readonly realtimeRenewals?: number;
  /** Agent audio deltas of a response already cancelled (barge-in) or finished, dropped unplayed. */
  readonly staleAgentAudioDrops?: number;
  /** What the agent cost, summed over the call's `response.done` usage (when the service reports it). */
  readonly usage?: CallUsage;
  /** Transfer target when endReason is 'transfer'. */
  readonly transferTarget?: string;
}

export interface CallUsage {
  readonly outputAudioSeconds: number;
  readonly billableAudioSeconds: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** Live per-call observations besides the final record (for histograms that need each sample). */
export interface CallObserver {
  /** Routed and a codec agreed: answering begins (180); the call counts as active until ended(). */
  accepted(callId: string): void;
  /**
   * The 200 OK was ACKed: the call's setupMs (INVITE received → 200 OK sent), observed when it
   * happens rather than at the end of a call that may last half an hour.
   */
  answered(setupMs: number): void;
  /** The call's first agent audio packet went out on RTP: 200 OK sent → then, ms (firstAgentAudioMs). */
  firstAgentAudio(ms: number): void;
  /** Caller stopped speaking (speech_stopped) → first agent audio sent on RTP, ms. */
  turnLatency(ms: number): void;
  bargeIn(): void;
  realtimeError(kind: 'benign' | 'fatal'): void;
  /** Called exactly once per call, refused calls included. */
  ended(record: CallDetailRecord): void;
}

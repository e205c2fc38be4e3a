// What every CallSession shares with the others: routing, the RTP port pool, the one media
// clock, where the agent lives, and who is told about the call. Built once by the app.
import type { MediaClock } from '../media/media-clock.js';
import type { PortPool } from '../media/port-pool.js';
import type { Logger } from '../observability/logger.js';
import type { CallCodec, SrtpPolicy } from '../signaling/sdp/index.js';
import type { CallObserver } from '../observability/call-detail-record.js';
import type { AgentRouter } from './routing.js';
import type { AgentTool, WebhookEvent } from './agent-profile.js';

export interface RealtimeEndpoint {
  /** wss://api.x.ai/v1/realtime, or the in-process local agent's ws://127.0.0.1:port. */
  readonly url: string;
  /** XAI_API_KEY; absent for the local agent. */
  readonly apiKey?: string;
  readonly model: string;
  readonly handshakeTimeoutMs?: number;
  readonly reconnectDelayMs?: number;
  /** Ping/pong, idle and backpressure bounds (ms) of the realtime socket. */
  readonly liveness?: {
    readonly pingIntervalMs: number;
    readonly pongTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly maxBufferedMs: number;
  };
}

export interface CallMediaSettings {
  /** Address the RTP sockets bind to, and the address put in our SDP. */
  readonly advertisedAddress: string;
  readonly codecs: readonly CallCodec[];
  readonly ptimeMs: number;
  readonly jitter: { readonly minDelayMs: number; readonly maxDelayMs: number; readonly lateCostMs?: number };
  /** 0 disables the RTP inactivity BYE. */
  readonly rtpTimeoutSec: number;
  /** media.srtp (absent: off). */
  readonly srtp?: SrtpPolicy;
  readonly recordingsDir?: string;
  readonly transcriptsDir?: string;
}

export interface CallServices {
  readonly backendName: 'embedded' | 'drachtio';
  readonly router: AgentRouter;
  readonly portPool: PortPool;
  readonly clock: MediaClock;
  readonly media: CallMediaSettings;
  readonly realtime: RealtimeEndpoint;
  readonly observer?: CallObserver;
  readonly log: Logger;
  /** Retry-After on our own 503s (agent unreachable, no RTP ports), as sip.retryAfterSec. */
  readonly retryAfterSec: number;
  /** end_call waits this long for the farewell to play before it hangs up anyway (AVA: 5 s). */
  readonly hangupTimeoutMs?: number;
  /** Tools every profile gets besides its own (the library's in-process functions). */
  readonly extraTools?: readonly AgentTool[];
  /** Told every call event a webhook could get (the library's typed events), in this process. */
  readonly callEvents?: CallEventListener;
}

export type CallEventListener = (
  callId: string,
  event: WebhookEvent,
  data: Readonly<Record<string, unknown>>,
) => void;

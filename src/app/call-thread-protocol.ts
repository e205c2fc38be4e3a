// What the main thread and a call thread say to each other besides the calls' own SIP
// (src/signaling/call-channel.ts): start-up data, per-call shutdown, the observer's events, the
// finished call's record and the thread's counters. Plain data only (structured clone).
import type { RealtimeEndpoint } from '../call/call-services.js';
import type { GrokSipConfig } from '../config/load-config.js';
import type { CallDetailRecord, CallObserver } from '../observability/call-detail-record.js';
import type { ThreadHealth } from '../observability/metrics.js';
import type { FromCallThread, ToCallThread } from '../signaling/call-channel.js';
import type { ReferOutcome } from '../signaling/signaling-backend.js';

export interface CallThreadData {
  /** 'call-thread-1' …: the label of this thread in logs and metrics. */
  readonly name: string;
  readonly config: GrokSipConfig;
  readonly realtime: RealtimeEndpoint;
  /** RTP pair reservations every call thread shares (PortPool.sharedReservations). */
  readonly sharedPorts: SharedArrayBuffer;
  readonly hangupTimeoutMs?: number;
  /** The main thread's log level (a worker has its own logger). */
  readonly logLevel?: string;
}

/** Observer methods as messages: [method, arguments]. */
export type ObserverEvent = {
  [M in keyof CallObserver]-?: CallObserver[M] extends ((...args: infer A) => void) | undefined
    ? { readonly method: M; readonly args: A }
    : never;
}[keyof CallObserver];

export type ToThread =
  | ToCallThread
  | { readonly type: 'shutdown-call'; readonly key: number }
  /** The REST API or the library hangs the call up (end reason api-hangup). */
  | { readonly type: 'hangup-call'; readonly key: number }
  | { readonly type: 'transfer-call'; readonly key: number; readonly id: number; readonly targetUri: string }
  | { readonly type: 'close' };

export type FromThread =
  | FromCallThread
  | { readonly type: 'ready' }
  | { readonly type: 'observer'; readonly event: ObserverEvent }
  | { readonly type: 'ended'; readonly key: number; readonly record: CallDetailRecord }
  | {
      readonly type: 'counters';
      readonly rejected: [string, number][];
      readonly ignored: [string, number][];
      /** Event-loop lag (last 10 s window), media clock and RTP send errors of this thread. */
      readonly health: ThreadHealth;
    }
  | {
      readonly type: 'transfer-result';
      readonly id: number;
      readonly outcome?: ReferOutcome;
      readonly error?: string;
    }
  | { readonly type: 'closed' };

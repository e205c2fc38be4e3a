// Every call the app runs, inbound and outbound, by id (the SIP Call-ID), for the REST API, the
// library and `grok-sip calls`: live calls with their state, and the last ended ones with their
// CDR. Inbound calls in call threads are known by what their INVITE said; their hang-up goes to
// the thread, and transfer is only offered for calls on the main thread.
import type { CallDetailRecord } from '../observability/call-detail-record.js';
import type { IncomingCall, ReferOutcome } from '../signaling/signaling-backend.js';
import type { OutboundCallSession } from '../call/outbound-call-session.js';
import type { RunningCall } from './call-threads.js';

export type CallState = 'dialing' | 'ringing' | 'answered' | 'active' | 'ended';

export interface CallInfo {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  /** dialing/ringing/answered for calls we place; active for an inbound call until it ends. */
  readonly state: CallState;
  readonly from: string;
  readonly to: string;
  readonly agent?: string;
  readonly trunk?: string;
  readonly startedAt: string;
  readonly answeredAt?: string;
  readonly endedAt?: string;
  /** Once the call is over. */
  readonly cdr?: CallDetailRecord;
}

interface LiveCall {
  info(): CallInfo;
  hangup(): void;
  transfer?(target: string): Promise<ReferOutcome>;
}

/** Ended calls kept for GET /v1/calls/{id}. */
const KEEP_ENDED = 500;

export class CallDirectory {
  readonly #live = new Map<string, LiveCall>();
  readonly #ended = new Map<string, CallInfo>();

  addInbound(call: IncomingCall, running: RunningCall): void {
    const startedAt = new Date().toISOString();
    this.#live.set(call.callId, {
      info: () => ({
        id: call.callId,
        direction: 'inbound',
        state: 'active',
        from: call.from,
        to: call.to,
        startedAt,
      }),
      hangup: () => (running.hangup !== undefined ? running.hangup() : running.shutdown()),
      ...(running.transfer !== undefined && {
        transfer: (target: string) => running.transfer!(target),
      }),
    });
  }

  addOutbound(session: OutboundCallSession): void {
    const r = session.request;
    this.#live.set(session.callId, {
      info: () => {
        const answeredAt = session.answeredAt;
        return {
          id: session.callId,
          direction: 'outbound',
          state: session.state,
          from: session.from,
          to: r.to,
          agent: r.profile.name,
          trunk: r.trunk,
          startedAt: session.startedAt.toISOString(),
          ...(answeredAt !== undefined && { answeredAt: answeredAt.toISOString() }),
        };
      },
      hangup: () => session.hangup(),
      transfer: (target) => session.transfer(target),
    });
  }

  /** The call is over: its CDR replaces the live entry. */
  ended(record: CallDetailRecord): void {
    this.#live.delete(record.callId);
    this.#ended.set(record.callId, {
      id: record.callId,
      direction: record.direction ?? 'inbound',
      state: 'ended',
      from: record.from,
      to: record.to,
      ...(record.agent !== undefined && { agent: record.agent }),
      ...(record.trunk !== undefined && { trunk: record.trunk }),
      startedAt: record.startedAt,
      ...(record.answeredAt !== undefined && { answeredAt: record.answeredAt }),
      endedAt: record.endedAt,
      cdr: record,
    });
    if (this.#ended.size > KEEP_ENDED) this.#ended.delete(this.#ended.keys().next().value!);
  }

  /** Live calls, oldest first. */
  list(): CallInfo[] {
    return [...this.#live.values()].map((c) => c.info());
  }

  get(id: string): CallInfo | undefined {
    return this.#live.get(id)?.info() ?? this.#ended.get(id);
  }

  /** false when no live call has this id. */
  hangup(id: string): boolean {
    const call = this.#live.get(id);
    if (call === undefined) return false;
    call.hangup();
    return true;
  }

  /** undefined when no live call has this id; null when that call cannot be transferred here. */
  transfer(id: string, target: string): Promise<ReferOutcome> | null | undefined {
    const call = this.#live.get(id);
    if (call === undefined) return undefined;
    return call.transfer?.(target) ?? null;
  }
}

// The start and the end of a call, the same for every kind (inbound SIP, outbound SIP, a carrier's
// media stream). At the start the observer counts the call active and the profile's webhooks hear
// `call.started`; at the end its CDR is assembled from who the call was with plus the common timing
// and counters, then published once — the log line, the observer (metrics), the `call.ended`
// webhook. Each session says only what differs: its parties and its status.
import type { AudioFormat } from '../audio/audio-format.js';
import type { CallDetailRecord, CallEndReason } from '../observability/call-detail-record.js';
import type { Logger } from '../observability/logger.js';
import type { IncomingCall } from '../signaling/signaling-backend.js';
import type { AgentProfile } from './agent-profile.js';
import { CallEventWebhooks } from './call-event-webhooks.js';
import type { CallServices } from './call-services.js';
import type { CallSummary } from './connected-call.js';

/** What a kind of call knows about its parties and media; the rest of the record is common. */
export type CallParties = Pick<
  CallDetailRecord,
  'callId' | 'backend' | 'from' | 'to' | 'dialledUser' | 'sourceAddress'
> &
  Partial<Pick<CallDetailRecord, 'direction' | 'trunk' | 'agent' | 'codec'>>;

/** An inbound SIP call's parties, as its INVITE named them. */
export function inboundParties(call: IncomingCall, backend: CallParties['backend']): CallParties {
  return {
    callId: call.callId,
    backend,
    from: call.from,
    to: call.to,
    dialledUser: call.dialledUser,
    sourceAddress: `${call.source.transport}:${call.source.address}:${call.source.port}`,
  };
}

/** The call's clocks: its start on the wall clock and on performance.now(), and the later moments. */
export interface CallTimes {
  readonly startedAt: Date;
  readonly startedAtMs: number;
  readonly answeredAtMs?: number;
  readonly endedAtMs: number;
}

/** The CDR's name for a realtime audio format: pcmu, pcma, pcm16, pcm24. */
export function apiFormatName(format: AudioFormat): string {
  return format.encoding === 'pcm' ? `pcm${format.sampleRate / 1000}` : format.encoding;
}

/** Setup time: start (INVITE received, or sent) to answer, whole milliseconds. */
export function setupMs(startedAtMs: number, answeredAtMs: number): number {
  return Math.round(answeredAtMs - startedAtMs);
}

export function callRecord(
  parties: CallParties,
  apiFormat: AudioFormat | undefined,
  sipStatus: number,
  endReason: CallEndReason,
  times: CallTimes,
  summary?: CallSummary,
): CallDetailRecord {
  const wallAt = (ms: number): string =>
    new Date(times.startedAt.getTime() + (ms - times.startedAtMs)).toISOString();
  const { answeredAtMs, endedAtMs } = times;
  return {
    ...parties,
    ...(apiFormat !== undefined && { apiFormat: apiFormatName(apiFormat) }),
    sipStatus,
    endReason,
    startedAt: times.startedAt.toISOString(),
    ...(answeredAtMs !== undefined && {
      answeredAt: wallAt(answeredAtMs),
      setupMs: setupMs(times.startedAtMs, answeredAtMs),
    }),
    endedAt: wallAt(endedAtMs),
    durationMs: Math.round(endedAtMs - times.startedAtMs),
    bargeIns: 0,
    turns: 0,
    dtmfDigits: 0,
    realtimeErrors: 0,
    realtimeReconnects: 0,
    ...summary,
  };
}

/** The metrics observer is the host application's: what it throws is logged, never the call's end. */
export function tellObserver(
  services: CallServices,
  log: Logger,
  tell: (observer: NonNullable<CallServices['observer']>) => void,
): void {
  const observer = services.observer;
  if (observer === undefined) return;
  try {
    tell(observer);
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'call observer failed');
  }
}

/** The record goes out once: log line, observer, `call.ended` webhook. */
export function publishCallEnded(
  record: CallDetailRecord,
  services: CallServices,
  webhooks: CallEventWebhooks | undefined,
  log: Logger,
): void {
  log.info({ endReason: record.endReason, sipStatus: record.sipStatus }, `call ended: ${record.endReason}`);
  tellObserver(services, log, (o) => o.ended(record));
  webhooks?.post('call.ended', { cdr: record });
}

/** A routed call begins: counted active, and its profile's webhooks (returned) hear `call.started`. */
export function beginCall(
  services: CallServices,
  callId: string,
  profile: AgentProfile,
  log: Logger,
  started: Pick<CallDetailRecord, 'from' | 'to' | 'dialledUser' | 'direction'>,
): CallEventWebhooks {
  tellObserver(services, log, (o) => o.accepted(callId));
  const webhooks = new CallEventWebhooks(profile.webhooks ?? [], callId, log, services.callEvents);
  const { direction, ...parties } = started;
  webhooks.post('call.started', {
    ...parties,
    agent: profile.name,
    ...(direction !== undefined && { direction }),
  });
  return webhooks;
}

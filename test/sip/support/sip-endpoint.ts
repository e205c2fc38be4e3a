// Test side of the embedded backend: starts it in-process on 127.0.0.1 and answers calls with
// an SDP made by the one SDP module, the way the call layer will.
import {
  EmbeddedBackend,
  type EmbeddedBackendOptions,
} from '../../../src/signaling/embedded/embedded-backend.js';
import type { Dialog, IncomingCall } from '../../../src/signaling/signaling-backend.js';
import { buildAnswer, buildOffer, negotiate, parseSdp } from '../../../src/signaling/sdp/index.js';

export interface Tap {
  teardown(fn: () => unknown): void;
}

export async function startEndpoint(
  t: Tap,
  port: number,
  extra: Partial<EmbeddedBackendOptions> = {},
  beforeStart?: (backend: EmbeddedBackend) => void,
): Promise<EmbeddedBackend> {
  const backend = new EmbeddedBackend({
    listen: [
      { transport: 'udp', address: '127.0.0.1', port },
      { transport: 'tcp', address: '127.0.0.1', port },
    ],
    maxCalls: 1000,
    retryAfterSec: 7,
    userAgent: 'grok-sip-test',
    registrations: [],
    ...extra,
  });
  beforeStart?.(backend);
  await backend.start();
  t.teardown(() => backend.stop());
  return backend;
}

export type AnswerResult = { kind: 'answer'; sdp: string } | { kind: 'reject'; status: number };

/** Our answer to an offer (or our offer for a late offer), or 488 when no G.711 codec fits. */
export function answerFor(offerSdp: string | null, rtpPort = 40000): AnswerResult {
  if (offerSdp === null)
    return {
      kind: 'answer',
      sdp: buildOffer({ address: '127.0.0.1', port: rtpPort, codecs: ['PCMU', 'PCMA'] }),
    };
  const negotiated = negotiate(parseSdp(offerSdp), { codecs: ['PCMU', 'PCMA'] });
  if (negotiated === null) return { kind: 'reject', status: 488 };
  return { kind: 'answer', sdp: buildAnswer(negotiated, { address: '127.0.0.1', port: rtpPort }) };
}

export interface CallLog {
  calls: IncomingCall[];
  dialogs: Dialog[];
  cancelled: number;
  ended: string[];
}

/** Answers every call (after 180); optionally hangs up from our side after `hangupAfterMs`. */
export function answerCalls(
  backend: EmbeddedBackend,
  opts: { hangupAfterMs?: number; answerDelayMs?: number } = {},
): CallLog {
  const logbook: CallLog = { calls: [], dialogs: [], cancelled: 0, ended: [] };
  backend.onIncomingCall((call) => {
    logbook.calls.push(call);
    call.events.on('cancel', () => logbook.cancelled++);
    call.progress();
    const result = answerFor(call.offerSdp);
    if (result.kind === 'reject') return call.reject(result.status);
    const go = (): void => {
      call.answer(result.sdp).then(
        (dialog) => {
          logbook.dialogs.push(dialog);
          dialog.events.on('terminated', ({ reason }) => logbook.ended.push(reason));
          if (opts.hangupAfterMs !== undefined) setTimeout(() => void dialog.hangup(), opts.hangupAfterMs);
        },
        () => undefined,
      );
    };
    if (opts.answerDelayMs === undefined) go();
    else setTimeout(go, opts.answerDelayMs);
  });
  return logbook;
}

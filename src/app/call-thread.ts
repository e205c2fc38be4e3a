// A call thread (worker_threads entry): runs the CallSessions the main thread hands it, each with
// this thread's own media clock, RTP sockets (from the range every thread shares) and realtime sockets.
// SIP stays on the main thread and reaches the calls through the call channel. Everything a call
// reports (observer events, its record) and this thread's counters go back as messages.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { CallSession } from '../call/call-session.js';
import { warmUpCallPaths } from '../call/warm-up.js';
import { mediaClock } from '../media/media-clock.js';
import type { CallObserver } from '../observability/call-detail-record.js';
import { ignore, ignoredErrors } from '../observability/ignored-errors.js';
import { EventLoopLagMonitor } from '../observability/event-loop-lag.js';
import { logger } from '../observability/logger.js';
import { rejectedInputs } from '../observability/rejected-input.js';
import { rtpSendErrors } from '../observability/rtp-send-errors.js';
import { CallChannelGuest } from '../signaling/call-channel.js';
import { buildCallServices } from './call-services-factory.js';
import type { CallThreadData, FromThread, ObserverEvent, ToThread } from './call-thread-protocol.js';

const port = parentPort;
if (port === null) throw new Error('call-thread.ts runs only as a worker thread');
const data = workerData as CallThreadData;
const post = (message: FromThread): void => port.postMessage(message);
if (data.logLevel !== undefined) logger.level = data.logLevel;
const log = logger.child({ thread: data.name });

const forward = (event: ObserverEvent): void => post({ type: 'observer', event });
const observer: CallObserver = {
  accepted: (...args) => forward({ method: 'accepted', args }),
  answered: (...args) => forward({ method: 'answered', args }),
  firstAgentAudio: (...args) => forward({ method: 'firstAgentAudio', args }),
  turnLatency: (...args) => forward({ method: 'turnLatency', args }),
  bargeIn: (...args) => forward({ method: 'bargeIn', args }),
  realtimeError: (...args) => forward({ method: 'realtimeError', args }),
  // The record travels once, with 'ended' below; the main thread hands it to its observer.
  ended: () => undefined,
};

const services = buildCallServices(data.config, {
  realtime: data.realtime,
  log,
  observer,
  sharedPorts: data.sharedPorts,
  ...(data.hangupTimeoutMs !== undefined && { hangupTimeoutMs: data.hangupTimeoutMs }),
});
const sessions = new Map<number, CallSession>();
const channel = new CallChannelGuest(post, (key, call) => {
  const session = new CallSession(call, services);
  sessions.set(key, session);
  void session.done
    .then((record) => {
      sessions.delete(key);
      channel.release(key);
      post({ type: 'ended', key, record });
    })
    .catch(ignore('call-thread.call-ended'));
});

const lag = new EventLoopLagMonitor();
const sendCounters = (): void => {
  const stats = mediaClock.stats;
  post({
    type: 'counters',
    rejected: rejectedInputs.own(),
    ignored: ignoredErrors.own(),
    health: {
      eventLoopLag: lag.sample(),
      mediaClock: { lateTicks: stats.lateTicks, skippedTicks: stats.skippedTicks },
      rtpSendErrors: rtpSendErrors.count,
    },
  });
};
const report = setInterval(sendCounters, 1000);

port.on('message', (m: ToThread) => {
  switch (m.type) {
    case 'shutdown-call':
      sessions.get(m.key)?.shutdown();
      return;
    case 'hangup-call':
      sessions.get(m.key)?.hangup();
      return;
    case 'transfer-call': {
      const session = sessions.get(m.key);
      const id = m.id;
      (session === undefined
        ? Promise.reject(new Error('the call has ended'))
        : session.transfer(m.targetUri)
      ).then(
        (outcome) => post({ type: 'transfer-result', id, outcome: { ...outcome } }),
        (err: unknown) =>
          post({ type: 'transfer-result', id, error: err instanceof Error ? err.message : String(err) }),
      );
      return;
    }
    case 'close':
      clearInterval(report);
      sendCounters();
      lag.stop();
      post({ type: 'closed' });
      port.close();
      return;
    default:
      channel.handle(m);
  }
});
// Compile the hot paths before the first call, not during its audio (src/call/warm-up.ts).
const warmStartMs = performance.now();
warmUpCallPaths();
log.debug({ ms: Math.round(performance.now() - warmStartMs) }, 'call paths warmed up');
post({ type: 'ready' });

// The CallServices every CallSession of one thread shares, built from the config: routing, the
// RTP port pool (media.portMin..portMax; call threads share its reservations), the
// thread's media clock, the agent endpoint and who is told about calls. Used by the app for
// in-thread calls and by each call thread (call-thread.ts) for its own.
import type { CallServices, RealtimeEndpoint } from '../call/call-services.js';
import { AgentRouter } from '../call/routing.js';
import type { GrokSipConfig } from '../config/load-config.js';
import { mediaClock, type MediaClock } from '../media/media-clock.js';
import { PortPool } from '../media/port-pool.js';
import type { CallObserver } from '../observability/call-detail-record.js';
import type { Logger } from '../observability/logger.js';

export interface CallServicesParts {
  readonly realtime: RealtimeEndpoint;
  readonly log: Logger;
  readonly observer?: CallObserver;
  readonly clock?: MediaClock;
  /** Port reservations shared by the call threads (PortPool.sharedReservations). */
  readonly sharedPorts?: SharedArrayBuffer;
  readonly hangupTimeoutMs?: number;
  readonly extraTools?: CallServices['extraTools'];
  readonly callEvents?: CallServices['callEvents'];
}

export function buildCallServices(config: GrokSipConfig, parts: CallServicesParts): CallServices {
  return {
    backendName: config.sip.backend,
    router: new AgentRouter(config.agents),
    portPool: new PortPool({
      address: config.media.rtpAddress,
      portMin: config.media.portMin,
      portMax: config.media.portMax,
      ...(parts.sharedPorts !== undefined && { shared: parts.sharedPorts }),
    }),
    clock: parts.clock ?? mediaClock,
    media: {
      advertisedAddress: config.media.advertisedAddress ?? config.media.rtpAddress,
      codecs: config.media.codecs,
      ptimeMs: config.media.ptimeMs,
      jitter: config.media.jitter,
      rtpTimeoutSec: config.media.rtpTimeoutSec,
      srtp: config.media.srtp,
      ...(config.media.recordings?.wav === true && { recordingsDir: config.media.recordings.dir }),
      ...(config.media.transcripts !== undefined && { transcriptsDir: config.media.transcripts.dir }),
    },
    realtime: parts.realtime,
    retryAfterSec: config.sip.retryAfterSec,
    ...(parts.observer !== undefined && { observer: parts.observer }),
    log: parts.log,
    ...(parts.hangupTimeoutMs !== undefined && { hangupTimeoutMs: parts.hangupTimeoutMs }),
    ...(parts.extraTools !== undefined && { extraTools: parts.extraTools }),
    ...(parts.callEvents !== undefined && { callEvents: parts.callEvents }),
  };
}

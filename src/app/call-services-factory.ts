// The CallServices every CallSession of one thread shares, built from the config: routing, the
// RTP port pool (the whole media.portMin..portMax range, or one call thread's share of it), the
// thread's media clock, the agent endpoint and who is told about calls. Used by the app for
// in-thread calls and by each call thread (call-thread.ts) for its own.
import type { CallServices, RealtimeEndpoint } from '../call/call-services.js';
import { AgentRouter } from '../call/routing.js';
import type { GrokSipConfig } from '../config/load-config.js';
import { mediaClock, type MediaClock } from '../media/media-clock.js';
import { PortPool } from '../media/port-pool.js';
import type { CallObserver } from '../observability/call-detail-record.js';
import type { Logger } from '../observability/logger.js';

export interface PortRange {
  readonly portMin: number;
  readonly portMax: number;
}

export interface CallServicesParts {
  readonly realtime: RealtimeEndpoint;
  readonly log: Logger;
  readonly observer?: CallObserver;
  readonly clock?: MediaClock;
  readonly ports?: PortRange;
  readonly hangupTimeoutMs?: number;
}

export function buildCallServices(config: GrokSipConfig, parts: CallServicesParts): CallServices {
  const ports = parts.ports ?? { portMin: config.media.portMin, portMax: config.media.portMax };
  return {
    backendName: config.sip.backend,
    router: new AgentRouter(config.agents),
    portPool: new PortPool({ address: config.media.rtpAddress, ...ports }),
    clock: parts.clock ?? mediaClock,
    media: {
      advertisedAddress: config.media.advertisedAddress ?? config.media.rtpAddress,
      codecs: config.media.codecs,
      ptimeMs: config.media.ptimeMs,
      jitter: config.media.jitter,
      rtpTimeoutSec: config.media.rtpTimeoutSec,
      ...(config.media.recordings?.wav === true && { recordingsDir: config.media.recordings.dir }),
      ...(config.media.transcripts !== undefined && { transcriptsDir: config.media.transcripts.dir }),
    },
    realtime: parts.realtime,
    retryAfterSec: config.sip.retryAfterSec,
    ...(parts.observer !== undefined && { observer: parts.observer }),
    log: parts.log,
    ...(parts.hangupTimeoutMs !== undefined && { hangupTimeoutMs: parts.hangupTimeoutMs }),
  };
}

/**
 * Splits the RTP range into `count` contiguous shares of whole even/odd pairs (a call thread binds
 * only its own share: sockets cannot move between threads). Fewer shares when the range is small.
 */
export function splitPortRange(range: PortRange, count: number): PortRange[] {
  const firstEven = range.portMin % 2 === 0 ? range.portMin : range.portMin + 1;
  const pairs = Math.floor((range.portMax - 1 - firstEven) / 2) + 1;
  const shares = Math.max(1, Math.min(count, pairs));
  const out: PortRange[] = [];
  let start = firstEven;
  for (let i = 0; i < shares; i++) {
    const n = Math.floor(pairs / shares) + (i < pairs % shares ? 1 : 0);
    out.push({ portMin: start, portMax: start + 2 * n - 1 });
    start += 2 * n;
  }
  return out;
}

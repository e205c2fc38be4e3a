// sip.backend picks the signaling backend; nothing above this file knows which one carries a call.
import type { GrokSipConfig } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import { DrachtioBackend } from '../signaling/drachtio/index.js';
import { EmbeddedBackend } from '../signaling/embedded/embedded-backend.js';
import type { InboundDecision, InboundRequest } from '../signaling/inbound-policy.js';
import type { SignalingBackend } from '../signaling/signaling-backend.js';

export function createSignalingBackend(
  config: GrokSipConfig,
  inboundPolicy: (request: InboundRequest) => InboundDecision,
  log: Logger,
): SignalingBackend {
  const sip = config.sip;
  switch (sip.backend) {
    case 'embedded':
      return new EmbeddedBackend({
        listen: sip.listen,
        ...(sip.advertisedAddress !== undefined && { advertisedAddress: sip.advertisedAddress }),
        maxCalls: sip.maxCalls,
        retryAfterSec: sip.retryAfterSec,
        userAgent: sip.userAgent,
        registrations: sip.registrations,
        inboundPolicy,
        forceRport: sip.forceRport,
        limits: {
          maxMessageBytes: sip.limits.maxMessageBytes,
          maxHeaders: sip.limits.maxHeaders,
          maxTcpConnections: sip.limits.maxTcpConnections,
          tcpIdleMs: sip.limits.tcpIdleSec * 1000,
          tcpMessageTimeoutMs: sip.limits.tcpMessageTimeoutSec * 1000,
          requestsPerSec: sip.limits.requestsPerSec,
          requestBurst: sip.limits.requestBurst,
        },
      });
    case 'drachtio':
      // The schema requires sip.drachtio when backend is drachtio.
      return new DrachtioBackend({
        drachtio: sip.drachtio!,
        maxCalls: sip.maxCalls,
        retryAfterSec: sip.retryAfterSec,
        userAgent: sip.userAgent,
        registrations: sip.registrations,
        inboundPolicy,
        log,
      });
  }
}

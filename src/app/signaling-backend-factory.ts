// sip.backend picks the signaling backend; nothing above this file knows which one carries a call.
import type { GrokSipConfig } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
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
      });
    case 'drachtio':
      log.error('sip.backend drachtio is not wired yet');
      throw new Error('sip.backend: drachtio is not available in this build yet');
  }
}

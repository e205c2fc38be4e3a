// Bounds on what one peer can make grok-sip hold or do (config `sip.limits`; docs/security.md
// gives the reasoning behind each default). Shared by both backends; drachtio-server enforces
// the transport-level ones itself on that backend.
import type { RateLimitSettings } from './source-rate-limit.js';

export interface SipLimits extends RateLimitSettings {
  /** A SIP message (header block + body): larger datagrams are dropped, a TCP peer is cut off. */
  readonly maxMessageBytes: number;
  /** Header lines per message; more → 400. */
  readonly maxHeaders: number;
  /** Open TCP connections (both directions); a new inbound one past it is closed at once. */
  readonly maxTcpConnections: number;
  /** TCP connections without traffic for this long are closed. */
  readonly tcpIdleMs: number;
  /**
   * A message must arrive whole within this long of its first byte, and a new inbound
   * connection must deliver its first message within it (a peer that trickles bytes).
   */
  readonly tcpMessageTimeoutMs: number;
}

export const DEFAULT_SIP_LIMITS: SipLimits = {
  // RFC 3261 §18.1.1 lets UDP messages reach 65,535 bytes; real INVITEs are 1–4 KB.
  maxMessageBytes: 65_535,
  // RFC 4475 longreq has 24 lines; a carrier INVITE with identity headers, ~40.
  maxHeaders: 256,
  maxTcpConnections: 1024,
  tcpIdleMs: 300_000,
  tcpMessageTimeoutMs: 10_000,
  // Per source address, out-of-dialog requests only: a busy trunk's 100 calls/s fits the burst.
  requestsPerSec: 100,
  requestBurst: 200,
};

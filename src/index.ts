// The package entry (`import … from 'grok-sip'`): the library surface of issue 18. Everything
// exported here is documented in docs/library.md; the rest of dist/ is internal.
export {
  startGrokSip,
  placeCall,
  type StartOptions,
  type GrokSip,
  type GrokSipEvents,
  type CallStarted,
  type Transcript,
  type OutboundCall,
  type FunctionTool,
} from './library/grok-sip.js';
export { PlaceCallError, type PlaceCallRequest, type PlaceCallProblem } from './app/outbound-calls.js';
export type { CallInfo, CallState } from './app/call-directory.js';
export type { OutboundCallState } from './call/outbound-call-session.js';
export type { InProcessCall } from './call/agent-profile.js';
export type {
  CallDetailRecord,
  CallEndReason,
  CallMediaSummary,
  CallUsage,
} from './observability/call-detail-record.js';
export { ConfigError, type GrokSipConfig } from './config/load-config.js';

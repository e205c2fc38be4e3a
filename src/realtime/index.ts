// The realtime layer's public surface: the Grok client and the local agent.
export * from '../audio/audio-format.js';
export * from './session-audio-format.js';
export * from './session-config.js';
export type { ClientEvent, ClientEventType } from './client-events.js';
export { parseServerMessage, type ServerEvent, type ServerEventType } from './server-events.js';
export { classifyServerError, RealtimeConnectError, type RealtimeError } from './error-classification.js';
export * from './realtime-session.js';
export { connectRealtime } from './connect-realtime.js';
export {
  startLocalAgent,
  type LocalAgent,
  type LocalAgentOptions,
  type ReceivedClientEvent,
  type SentServerEvent,
} from './local-agent/local-agent-server.js';
export type { LocalAgentScriptInput, ScriptStepInput, HandshakeMode } from './local-agent/agent-script.js';
export { runLocalAgentCli, parseLocalAgentArgs } from './local-agent-cli.js';

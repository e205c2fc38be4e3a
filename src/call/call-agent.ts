// What every kind of call does the same way to get its agent: the profile's tools bound to the
// connected call, and the realtime session opened with the profile's config (given up if the
// call is cancelled, shut down or its stream ends meanwhile). Used by call-session.ts (SIP) and
// stream-call-session.ts (Twilio, Vonage).
import type { AudioFormat } from '../audio/audio-format.js';
import type { Logger } from '../observability/logger.js';
import { connectRealtime, type RealtimeSession } from '../realtime/index.js';
import type { AgentProfile } from './agent-profile.js';
import { agentSessionConfig } from './agent-session-config.js';
import type { CallServices } from './call-services.js';
import type { ConnectedCall } from './connected-call.js';
import { AgentTools } from './tools/agent-tools.js';
import type { CallControl } from './tools/call-control.js';

/** The tools act on the connected call, which exists only after the answer. */
export function agentTools(
  profile: AgentProfile,
  connected: () => ConnectedCall | undefined,
  services: CallServices,
  callId: string,
  log: Logger,
): AgentTools {
  const call = (): ConnectedCall => {
    const c = connected();
    if (c === undefined) throw new Error('the call is not connected yet');
    return c;
  };
  const control: CallControl = {
    hangupAfterPlayout: (timeoutMs) => call().hangupAfterPlayout(timeoutMs),
    transfer: (targetUri) => call().transfer(targetUri),
    sendDtmf: (digits) => call().sendDtmf(digits),
  };
  const tools = services.extraTools?.length ? [...profile.tools, ...services.extraTools] : profile.tools;
  return new AgentTools(tools, control, {
    log,
    callId,
    ...(services.hangupTimeoutMs !== undefined && { hangupTimeoutMs: services.hangupTimeoutMs }),
  });
}

/** The agent's realtime session, or null when it could not be opened or `interrupted` came first. */
export async function connectAgent(
  services: CallServices,
  profile: AgentProfile,
  apiFormat: AudioFormat,
  tools: AgentTools,
  interrupted: Promise<void>,
  log: Logger,
): Promise<RealtimeSession | null> {
  const endpoint = services.realtime;
  try {
    const connecting = connectRealtime({
      url: endpoint.url,
      ...(endpoint.apiKey !== undefined && { apiKey: endpoint.apiKey }),
      model: endpoint.model,
      session: agentSessionConfig(profile, apiFormat, tools.realtimeTools()),
      ...(endpoint.handshakeTimeoutMs !== undefined && { handshakeTimeoutMs: endpoint.handshakeTimeoutMs }),
      ...(endpoint.reconnectDelayMs !== undefined && { reconnectDelayMs: endpoint.reconnectDelayMs }),
      ...(endpoint.liveness !== undefined && { liveness: endpoint.liveness }),
      log,
    });
    const agent = await Promise.race([connecting, interrupted.then(() => null)]);
    // Cancelled or shut down meanwhile: the session, if it opens at all, is not wanted.
    if (agent === null)
      void connecting.then(
        (late) => late.close(),
        () => undefined,
      );
    return agent;
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'agent session not opened');
    services.observer?.realtimeError('fatal');
    return null;
  }
}

/**
 * A fresh agent session for a call already connected (after a failed transfer the call needs an
 * agent again): nothing interrupts it the way a caller's CANCEL interrupts the one at setup.
 */
export function agentReconnector(
  services: CallServices,
  profile: AgentProfile,
  apiFormat: AudioFormat,
  tools: AgentTools,
  log: Logger,
): () => Promise<RealtimeSession | null> {
  return () => connectAgent(services, profile, apiFormat, tools, new Promise<void>(() => undefined), log);
}

// Calls from carrier media streams (config `streams`): the Twilio and Vonage ingresses on the HTTP
// listener, each started stream run as a StreamCallSession adopted by the app (CDR, call-ended
// events, drain). They run on the main thread: a WebSocket belongs to the thread whose server
// accepted it (Node cannot hand a socket to a worker), and relaying every 20 ms frame to a call
// thread would cost about what handling it here does (measured: README "Scale").
import { StreamCallSession } from '../call/stream-call-session.js';
import { AgentRouter } from '../call/routing.js';
import type { GrokSipConfig } from '../config/load-config.js';
import type { Logger } from '../observability/logger.js';
import { StreamIngress } from '../streams/stream-ingress.js';
import type { GrokSipApp } from './grok-sip-app.js';

/** The ingress for `config.streams`, or undefined when neither carrier is configured. */
export function startStreamCalls(
  config: GrokSipConfig,
  app: GrokSipApp,
  log: Logger,
): StreamIngress | undefined {
  const { twilio, vonage, maxCalls } = config.streams;
  if (twilio === undefined && vonage === undefined) return undefined;
  const router = new AgentRouter(config.agents);
  let active = 0;
  const admit = (): boolean => !app.draining && active < maxCalls;
  const ingress = new StreamIngress({
    ...(twilio !== undefined && { twilio }),
    ...(vonage !== undefined && { vonage }),
    routeAgent: (to) => router.route(to === '' ? null : to)?.name ?? null,
    admit,
    onStream: (stream) => {
      const call = admit() ? app.adoptCall((services) => new StreamCallSession(stream, services)) : null;
      if (call === null) {
        log.warn(
          { callId: stream.callId, provider: stream.provider },
          'stream refused: draining or at streams.maxCalls',
        );
        stream.close();
        return;
      }
      active++;
      void call.done.finally(() => active--);
    },
    log,
  });
  log.info(
    { twilio: twilio?.voicePath, vonage: vonage?.answerPath },
    'carrier media streams served on the HTTP listener',
  );
  return ingress;
}

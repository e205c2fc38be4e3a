// The composition root: one validated config in, a running endpoint out. Builds the agent
// endpoint (Grok with XAI_API_KEY, else the local agent in this process), routing, the RTP port
// pool, the inbound policy and the signaling backend, and hands every incoming call to its own
// CallSession. Shutdown drains as DESIGN.md says: 503 to new calls, un-REGISTER, live calls
// finish up to the drain timeout, then BYE.
import { ignore } from '../observability/ignored-errors.js';
import { EventEmitter } from 'node:events';
import type { CallDetailRecord, CallObserver } from '../observability/call-detail-record.js';
import { availableParallelism } from 'node:os';
import type { CallServices, RealtimeEndpoint } from '../call/call-services.js';
import { CallSession } from '../call/call-session.js';
import type { GrokSipConfig } from '../config/load-config.js';
import type { MediaClock } from '../media/media-clock.js';
import { PortPool } from '../media/port-pool.js';
import { CallDetailLog } from '../observability/call-detail-log.js';
import { logger, type Logger } from '../observability/logger.js';
import { startLocalAgent, type LocalAgent, type LocalAgentOptions } from '../realtime/index.js';
import { InboundPolicy } from '../signaling/inbound-policy.js';
import type { IncomingCall, SignalingBackend } from '../signaling/signaling-backend.js';
import { buildCallServices } from './call-services-factory.js';
import { CallThreads, type CallThreadStats, type RunningCall } from './call-threads.js';
import { startLocalAgentThread, type LocalAgentThread } from './local-agent-thread.js';
import { createSignalingBackend } from './signaling-backend-factory.js';
import type { OutboundCallSession } from '../call/outbound-call-session.js';
import { CallDirectory } from './call-directory.js';
import { resolveTrunks } from './trunks.js';
import { OutboundCalls, PlaceCallError, type PlaceCallRequest } from './outbound-calls.js';

/** media.workers: auto = one call thread per core. */
export function callThreadCount(workers: number | 'auto'): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

export interface GrokSipAppOptions {
  readonly log?: Logger;
  /** The local agent's behaviour when no API key is set (tests use scripted mode). */
  readonly localAgent?: LocalAgentOptions;
  /**
   * Without an API key and with call threads: run the local agent in a thread of its own
   * (`grok-sip start`), not on the main thread with SIP. `localAgent` is then undefined.
   */
  readonly localAgentThread?: boolean;
  /** Told about every call; the metrics plug in here. */
  readonly observer?: CallObserver;
  readonly clock?: MediaClock;
  /** end_call's wait for the farewell (default 5000 ms). */
  readonly hangupTimeoutMs?: number;
  /**
   * In-process tools every profile gets, and a listener for every call event (the library's).
   * Both reach calls on the main thread only: with call threads (media.workers > 0) they are refused.
   */
  readonly extraTools?: CallServices['extraTools'];
  readonly callEvents?: CallServices['callEvents'];
}

export interface GrokSipApp {
  readonly config: GrokSipConfig;
  readonly backend: SignalingBackend;
  /** The in-process local agent, when no XAI_API_KEY was given (and it is not in its own thread). */
  readonly localAgent: LocalAgent | undefined;
  /** Calls talk to a local agent (in-process or in its own thread), not Grok. */
  readonly usesLocalAgent: boolean;
  /** Where calls' agents connect (the local agent's ws://127.0.0.1:… or Grok's wss URL). */
  readonly realtimeUrl: string;
  readonly events: EventEmitter<{ 'call-ended': [CallDetailRecord] }>;
  activeCalls(): number;
  /** Per call thread (media.workers > 0): calls, event-loop delay, media clock; [] without threads. */
  callThreads(): CallThreadStats[];
  /** Terminates call thread `index` as a crash would (its calls end, a new thread replaces it): for tests and drills. */
  killCallThread(index: number): Promise<void>;
  /**
   * Runs a call that arrived by another ingress (a carrier media stream, src/app/stream-calls.ts)
   * on the main thread, with the same records, events and drain as SIP calls; null while draining.
   */
  adoptCall(start: (services: CallServices) => RunningCall): RunningCall | null;
  readonly draining: boolean;
  /**
   * Places a call through a trunk (issue 18) with `request.agent` on it once answered; runs on
   * the main thread. Throws PlaceCallError (naming the field) when it cannot be placed.
   */
  placeCall(request: PlaceCallRequest): OutboundCallSession;
  /** Live calls (inbound and outbound) and the recently ended ones, by id. */
  readonly calls: CallDirectory;
  /**
   * SIGTERM: new calls get 503, registrations are removed, live calls may finish for
   * `drainTimeoutMs`, then each gets a BYE; then everything closes.
   */
  drain(drainTimeoutMs: number): Promise<void>;
  /** Immediate stop: BYE to every live call, close the sockets. */
  stop(): Promise<void>;
}

export async function startGrokSip(
  config: GrokSipConfig,
  options: GrokSipAppOptions = {},
): Promise<GrokSipApp> {
  const log = options.log ?? logger;
  if (
    (options.extraTools !== undefined || options.callEvents !== undefined) &&
    callThreadCount(config.media.workers) > 0
  ) {
    throw new RangeError('in-process tools and call events need media.workers: 0 (calls on the main thread)');
  }
  resolveTrunks(config); // a trunk naming a missing registration fails here, before anything starts
  let localAgent: LocalAgent | undefined;
  let agentThread: LocalAgentThread | undefined;
  let realtime: RealtimeEndpoint;
  const l = config.realtime.liveness;
  const liveness = {
    pingIntervalMs: l.pingIntervalSec * 1000,
    pongTimeoutMs: l.pongTimeoutSec * 1000,
    idleTimeoutMs: l.idleTimeoutSec * 1000,
    maxBufferedMs: l.maxBufferedMs,
  };
  if (config.realtime.apiKey !== undefined && config.realtime.apiKey !== '') {
    realtime = {
      url: config.realtime.url,
      apiKey: config.realtime.apiKey,
      model: config.realtime.model,
      liveness,
    };
  } else {
    let url: string;
    if (options.localAgentThread === true && callThreadCount(config.media.workers) > 0) {
      const { log: _log, ...threadOptions } = options.localAgent ?? {};
      agentThread = await startLocalAgentThread(threadOptions);
      url = agentThread.url;
    } else {
      localAgent = await startLocalAgent({ host: '127.0.0.1', port: 0, mode: 'echo', ...options.localAgent });
      url = localAgent.url;
    }
    realtime = { url, model: config.realtime.model, liveness };
    log.info(
      { url, thread: agentThread !== undefined },
      'no XAI_API_KEY: calls talk to the built-in local agent (echo)',
    );
  }

  const sessions = new Set<RunningCall>();
  const events = new EventEmitter<{ 'call-ended': [CallDetailRecord] }>();
  const observer = options.observer;
  const threadCount = callThreadCount(config.media.workers);
  let threads: CallThreads | undefined;
  let services: CallServices | undefined;
  if (threadCount > 0) {
    const sharedPorts = PortPool.sharedReservations(config.media.portMin, config.media.portMax);
    threads = await CallThreads.start({
      count: threadCount,
      data: () => ({
        config,
        realtime,
        sharedPorts,
        logLevel: log.level,
        ...(options.hangupTimeoutMs !== undefined && { hangupTimeoutMs: options.hangupTimeoutMs }),
      }),
      ...(observer !== undefined && { observer }),
      log,
    });
    log.info({ threads: threadCount }, 'calls run in call threads');
  } else {
    services = buildCallServices(config, {
      realtime,
      log,
      ...(observer !== undefined && { observer }),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.hangupTimeoutMs !== undefined && { hangupTimeoutMs: options.hangupTimeoutMs }),
      ...(options.extraTools !== undefined && { extraTools: options.extraTools }),
      ...(options.callEvents !== undefined && { callEvents: options.callEvents }),
    });
  }
  const startCall = (call: IncomingCall): RunningCall =>
    threads !== undefined ? threads.start(call) : new CallSession(call, services!);
  // Stream calls run on the main thread, where their sockets are (docs/twilio.md, "Threads").
  const mainThreadServices = (): CallServices =>
    (services ??= buildCallServices(config, {
      realtime,
      log,
      ...(observer !== undefined && { observer }),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.hangupTimeoutMs !== undefined && { hangupTimeoutMs: options.hangupTimeoutMs }),
      ...(options.extraTools !== undefined && { extraTools: options.extraTools }),
      ...(options.callEvents !== undefined && { callEvents: options.callEvents }),
    }));

  const cdrLog = new CallDetailLog({
    log,
    ...(config.cdr.file !== undefined && { cdrFile: config.cdr.file }),
  });
  const policy = new InboundPolicy(config.sip.inbound);
  const backend = createSignalingBackend(config, (request) => policy.decide(request), log);
  let draining = false;
  const directory = new CallDirectory();
  const outbound = new OutboundCalls(config, backend.placeCall?.bind(backend));
  backend.onIncomingCall((call: IncomingCall) => {
    if (draining) {
      call.reject(503, 'Service Unavailable', { 'Retry-After': String(config.sip.retryAfterSec) });
      return;
    }
    directory.addInbound(call, track(startCall(call)));
  });
  function track(session: RunningCall): RunningCall {
    sessions.add(session);
    void session.done
      .then((record) => {
        sessions.delete(session);
        directory.ended(record);
        cdrLog.write(record);
        events.emit('call-ended', record);
      })
      .catch(ignore('app.call-ended'));
    return session;
  }
  try {
    await backend.start();
  } catch (err) {
    await threads?.close();
    await localAgent?.close();
    await agentThread?.close();
    throw err;
  }

  const closeAll = async (): Promise<void> => {
    for (const s of sessions) s.shutdown();
    await Promise.race([
      Promise.all([...sessions].map((s) => s.done)),
      new Promise((resolve) => setTimeout(resolve, 5000).unref()),
    ]);
    await backend.stop();
    await threads?.close();
    await localAgent?.close();
    await agentThread?.close();
    await cdrLog.flush();
  };

  return {
    config,
    backend,
    localAgent,
    usesLocalAgent: localAgent !== undefined || agentThread !== undefined,
    realtimeUrl: realtime.url,
    events,
    activeCalls: () => sessions.size,
    callThreads: () => threads?.stats() ?? [],
    killCallThread: async (index) => threads?.killThread(index),
    adoptCall: (start) => (draining ? null : track(start(mainThreadServices()))),
    placeCall(request) {
      if (draining) throw new PlaceCallError('draining', 'draining for shutdown: no new calls');
      const callServices = mainThreadServices();
      const session = outbound.start(request, callServices, callServices.router);
      directory.addOutbound(session);
      track(session);
      return session;
    },
    calls: directory,
    get draining() {
      return draining;
    },
    async drain(drainTimeoutMs: number) {
      draining = true;
      log.info({ activeCalls: sessions.size, drainTimeoutMs }, 'draining: new calls get 503');
      await backend.unregister();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...sessions].map((s) => s.done)),
        new Promise((resolve) => (timer = setTimeout(resolve, drainTimeoutMs))),
      ]);
      clearTimeout(timer);
      await closeAll();
    },
    async stop() {
      draining = true;
      await closeAll();
    },
  };
}

// grok-sip as a library (issue 18): `import { startGrokSip } from 'grok-sip'` runs the same
// endpoint as `grok-sip start` inside the caller's process, with typed events, in-process function
// tools next to the config's webhook tools, and placeCall() for outbound calls. Calls run on the
// main thread (media.workers defaults to 0 here): in-process tools and events cannot cross threads.
import { EventEmitter } from 'node:events';
import { startGrokSip as startApp, type GrokSipApp } from '../app/grok-sip-app.js';
import { startObservability, type Observability } from '../app/observability-wiring.js';
import { parsePlaceCallRequest, type PlaceCallRequest } from '../app/outbound-calls.js';
import type { CallInfo } from '../app/call-directory.js';
import type { AgentTool, InProcessCall } from '../call/agent-profile.js';
import type { OutboundCallSession, OutboundCallState } from '../call/outbound-call-session.js';
import { loadConfig, parseConfig, type GrokSipConfig } from '../config/load-config.js';
import type { CallDetailRecord } from '../observability/call-detail-record.js';
import { logger, type Logger } from '../observability/logger.js';
import type { LocalAgentOptions } from '../realtime/index.js';
import { stringify } from 'yaml';

/** A function tool answered in this process. Its result is sent to the model as JSON. */
export interface FunctionTool {
  readonly description: string;
  /** JSON Schema of the arguments (default: an object with any properties). */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly handler: (args: Record<string, unknown>, call: InProcessCall) => unknown;
}

export interface StartOptions {
  /**
   * The configuration: a path to a YAML file, YAML text, or an object of the same shape
   * (docs/configuration.md). `${ENV}` references are resolved from `env`.
   */
  readonly config: string | Readonly<Record<string, unknown>>;
  /** Environment for `${ENV}` references and XAI_API_KEY (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** In-process function tools every agent profile gets, by name (letters, digits, `_`). */
  readonly tools?: Readonly<Record<string, FunctionTool | FunctionTool['handler']>>;
  /** Start the HTTP listener (metrics, health; REST API when apiToken is set). Default false. */
  readonly http?: boolean | { readonly apiToken?: string };
  readonly log?: Logger;
  /**
   * Without XAI_API_KEY the built-in local agent answers (echo); a script makes it a test double
   * for your own tests (function calls, errors, drops: src/realtime/local-agent/agent-script.ts).
   */
  readonly localAgent?: LocalAgentOptions;
}

/** Typed events of a running instance. */
export interface GrokSipEvents {
  'call-started': [CallStarted];
  transcript: [Transcript];
  dtmf: [{ readonly callId: string; readonly digit: string }];
  'call-ended': [CallDetailRecord];
}

export interface CallStarted {
  readonly callId: string;
  readonly direction: 'inbound' | 'outbound';
  readonly from: string;
  readonly to: string;
  readonly agent: string;
}

export interface Transcript {
  readonly callId: string;
  /** `caller` is the other party (on an outbound call: the callee); `agent` is the agent. */
  readonly role: 'caller' | 'agent';
  readonly text: string;
}

/** A call placed with placeCall(). */
export interface OutboundCall {
  readonly id: string;
  readonly state: OutboundCallState;
  /** Resolves with the call's record once it is over (never rejects). */
  readonly done: Promise<CallDetailRecord>;
  /** Hang up (CANCEL while ringing). */
  hangup(): void;
  /** Blind transfer of the answered call. */
  transfer(targetUri: string): Promise<{ accepted: boolean; status: number; reason: string }>;
  on(event: 'state', listener: (state: OutboundCallState) => void): this;
}

export interface GrokSip {
  readonly config: GrokSipConfig;
  readonly events: EventEmitter<GrokSipEvents>;
  /** Where the HTTP listener answers, when started. */
  readonly httpUrl: string | undefined;
  /** Throws PlaceCallError (naming the field) when the call cannot be placed. */
  placeCall(request: PlaceCallRequest): OutboundCall;
  /** Live calls, inbound and outbound. */
  calls(): CallInfo[];
  /** One call (live or recently ended). */
  call(id: string): CallInfo | undefined;
  /** Let live calls finish (up to drainTimeoutMs), then stop. */
  drain(drainTimeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function readConfig(options: StartOptions): GrokSipConfig {
  const env = options.env ?? process.env;
  if (typeof options.config !== 'string') {
    const media = (options.config.media ?? {}) as Record<string, unknown>;
    // Calls on the main thread unless asked otherwise (in-process tools and events need it).
    const withThreads = { ...options.config, media: { workers: 0, ...media } };
    return parseConfig(stringify(withThreads), env, 'options.config');
  }
  if (/\n/.test(options.config) || /^\s*[a-z]+:/m.test(options.config)) {
    return parseConfig(options.config, env, 'options.config');
  }
  return loadConfig(options.config, env);
}

function inProcessTools(tools: StartOptions['tools']): AgentTool[] {
  return Object.entries(tools ?? {}).map(([name, tool]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      throw new TypeError(`tools.${name}: a function name of letters, digits and "_"`);
    }
    const t = typeof tool === 'function' ? { description: name, handler: tool } : tool;
    return {
      type: 'in_process',
      name,
      description: t.description,
      parameters: t.parameters ?? { type: 'object', properties: {} },
      run: (args, call) => t.handler(args, call),
    };
  });
}

/** Starts grok-sip in this process: SIP listeners, registrations, agents, and optionally HTTP. */
export async function startGrokSip(options: StartOptions): Promise<GrokSip> {
  const config = readConfig(options);
  const log = options.log ?? logger;
  const events = new EventEmitter<GrokSipEvents>();
  const extraTools = inProcessTools(options.tools);
  let observability: Observability | undefined;
  if (options.http !== undefined && options.http !== false) {
    const apiToken = typeof options.http === 'object' ? options.http.apiToken : undefined;
    observability = await startObservability(config, log, { ...(apiToken !== undefined && { apiToken }) });
  }
  let app: GrokSipApp;
  try {
    app = await startApp(config, {
      log,
      ...(observability !== undefined && { observer: observability.observer }),
      ...(options.localAgent !== undefined && { localAgent: options.localAgent }),
      extraTools,
      callEvents: (callId, event, data) => {
        if (event === 'call.started') {
          events.emit('call-started', {
            callId,
            direction: data.direction === 'outbound' ? 'outbound' : 'inbound',
            from: String(data.from ?? ''),
            to: String(data.to ?? ''),
            agent: String(data.agent ?? ''),
          });
        } else if (event === 'transcript') {
          events.emit('transcript', {
            callId,
            role: data.role === 'agent' ? 'agent' : 'caller',
            text: String(data.text ?? ''),
          });
        } else if (event === 'dtmf') {
          events.emit('dtmf', { callId, digit: String(data.digit ?? '') });
        }
      },
    });
  } catch (err) {
    await observability?.close();
    throw err;
  }
  observability?.attach(app);
  app.events.on('call-ended', (record) => events.emit('call-ended', record));
  const stopAll = async (drainMs?: number): Promise<void> => {
    if (drainMs !== undefined) await app.drain(drainMs);
    else await app.stop();
    await observability?.close();
  };
  return {
    config,
    events,
    httpUrl: observability?.url,
    placeCall: (request) => wrap(app.placeCall(parsePlaceCallRequest(request))),
    calls: () => app.calls.list(),
    call: (id) => app.calls.get(id),
    drain: (ms) => stopAll(ms),
    stop: () => stopAll(),
  };
}

/** Places a call on a running instance (the same as `grokSip.placeCall(request)`). */
export function placeCall(grokSip: GrokSip, request: PlaceCallRequest): OutboundCall {
  return grokSip.placeCall(request);
}

function wrap(session: OutboundCallSession): OutboundCall {
  const call: OutboundCall = {
    id: session.callId,
    get state() {
      return session.state;
    },
    done: session.done,
    hangup: () => session.hangup(),
    transfer: (target) => session.transfer(target),
    on(_event, listener) {
      session.events.on('state', listener);
      return call;
    },
  };
  return call;
}

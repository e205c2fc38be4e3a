// The local agent: a WebSocket server speaking the same protocol subset as Grok's realtime API.
// grok-sip starts it in-process when no XAI_API_KEY is set (echo: the caller hears themselves),
// and every realtime test runs against it (scripted: faults on demand).
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { logger, type Logger } from '../../observability/logger.js';
import { rejectedInputs } from '../../observability/rejected-input.js';
import type { ClientEvent } from '../client-events.js';
import { maxRealtimeFrameBytes } from '../socket-limits.js';
import { AgentConnection } from './agent-connection.js';
import { defaultPacing, type BurstPacing } from './agent-response.js';
import { resolveLiveShape, type LiveShapeInput } from './live-shape.js';
import {
  handshakeModeFor,
  localAgentScriptSchema,
  parseScriptStep,
  type LocalAgentScriptInput,
  type ScriptStep,
  type ScriptStepInput,
} from './agent-script.js';

export interface LocalAgentOptions {
  /** Default 127.0.0.1: the agent is never meant to face a network. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** echo: every turn echoes; scripted: `script` first, then echo. Default echo. */
  readonly mode?: 'echo' | 'scripted';
  readonly script?: LocalAgentScriptInput;
  readonly pacing?: Partial<BurstPacing>;
  /** Energy threshold when the session gives none; default -40 dBFS. */
  readonly vadThresholdDbfs?: number;
  /** When set, the upgrade needs `Authorization: Bearer <apiKey>` (else HTTP 401). */
  readonly apiKey?: string;
  /**
   * How closely to copy the live service's wire shapes (live-shape.ts): `true` = all of them
   * (strictLiveShape); an object overrides the defaults (live except caller transcripts, which
   * by default come for every turn even when the session did not ask for them).
   */
  readonly live?: LiveShapeInput;
  readonly log?: Logger;
  /**
   * Default true: keep every client event in `received` (tests assert on them). A standalone
   * agent has no reader for them, and at 500 echo calls they grow by 25,000 events a second.
   */
  readonly recordClientEvents?: boolean;
}

export interface ReceivedClientEvent {
  /** 0 for the first connection, 1 for the next (a reconnect), … */
  readonly connection: number;
  readonly event: ClientEvent;
  /** Wall clock (Date.now()) of arrival. */
  readonly atMs: number;
}

export interface SentServerEvent {
  readonly connection: number;
  readonly type: string;
  /** Wall clock (Date.now()) when it was written to the socket. */
  readonly atMs: number;
}

export interface LocalAgent {
  /** ws://127.0.0.1:<port>/v1/realtime */
  readonly url: string;
  readonly port: number;
  /**
   * Every valid client event, in arrival order (tests assert on what the client sent); empty
   * when started with recordClientEvents false.
   */
  readonly received: readonly ReceivedClientEvent[];
  /** Every server event sent except audio deltas, with its send time. */
  readonly sent: readonly SentServerEvent[];
  /** Connections accepted so far. */
  connectionsAccepted(): number;
  openConnections(): number;
  /** Resolves once no connection is open (a client that leaks its socket never resolves). */
  whenNoConnections(): Promise<void>;
  /** Runs a script step on the newest open connection now. */
  runStep(step: ScriptStepInput): void;
  close(): Promise<void>;
}

export async function startLocalAgent(options: LocalAgentOptions = {}): Promise<LocalAgent> {
  const script = localAgentScriptSchema.parse(options.mode === 'scripted' ? (options.script ?? {}) : {});
  const pacing: BurstPacing = { ...defaultPacing, ...options.pacing };
  const live = resolveLiveShape(options.live);
  const log = (options.log ?? logger).child({ component: 'local-agent' });
  const received: ReceivedClientEvent[] = [];
  const sent: SentServerEvent[] = [];
  const turns = [...script.turns];
  let afterHandshake: readonly ScriptStep[] = script.afterHandshake;
  let accepted = 0;
  let nextIdCounter = 0;
  const open = new Map<WebSocket, AgentConnection>();
  const changes = new EventEmitter();

  const wss = new WebSocketServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    // A client's frame past this is refused with 1009 before it is buffered (socket-limits.ts).
    maxPayload: maxRealtimeFrameBytes,
    verifyClient:
      options.apiKey === undefined
        ? undefined
        : (info, done) => {
            const ok = info.req.headers.authorization === `Bearer ${options.apiKey}`;
            if (ok) done(true);
            else done(false, 401, 'Unauthorized');
          },
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', (err) => log.warn({ err: err.message }, 'local agent server error'));

  wss.on('connection', (ws, req) => {
    const index = accepted++;
    const source = `local-agent:${req.socket.remoteAddress ?? '?'}`;
    ws.on('error', (err: Error & { code?: unknown }) => {
      // WS_ERR_*: `ws` refused the client's frame (over maxPayload 1009, bad UTF-8 1007, …).
      if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
        rejectedInputs.reject('realtime', source, err.code, err);
      } else log.debug({ err: err.message }, 'local agent socket error');
    });
    const connection = new AgentConnection(ws, {
      index,
      source,
      handshake: handshakeModeFor(script, index),
      pacing,
      vadThresholdDbfs: options.vadThresholdDbfs ?? -40,
      live,
      model: modelOf(req.url) ?? live.model,
      log,
      socket: req.socket,
      nextTurn: () => {
        const entry = turns.shift();
        if (entry === undefined) return undefined;
        return Array.isArray(entry) ? entry : [entry];
      },
      afterHandshake: () => {
        const steps = afterHandshake;
        afterHandshake = [];
        return steps;
      },
      onClientEvent:
        options.recordClientEvents === false
          ? () => undefined
          : (event) => received.push({ connection: index, event, atMs: Date.now() }),
      onServerEvent: (type) => {
        if (type !== 'response.output_audio.delta' && sent.length < 100_000) {
          sent.push({ connection: index, type, atMs: Date.now() });
        }
      },
      nextId: (prefix) => `${prefix}_${(++nextIdCounter).toString(36)}`,
    });
    open.set(ws, connection);
    ws.on('close', () => {
      open.delete(ws);
      changes.emit('closed');
    });
  });

  const port = (wss.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}/v1/realtime`,
    port,
    received,
    sent,
    connectionsAccepted: () => accepted,
    openConnections: () => open.size,
    whenNoConnections: () =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (open.size > 0) return;
          changes.off('closed', check);
          resolve();
        };
        changes.on('closed', check);
        check();
      }),
    runStep: (input) => {
      const step = parseScriptStep(input);
      const newest = [...open.values()].at(-1);
      if (!newest) throw new Error('local agent has no open connection to run a step on');
      newest.runStep(step);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of open.values()) connection.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** The `?model=` of the upgrade request (the live service fixes the model at connect time). */
function modelOf(url: string | undefined): string | undefined {
  try {
    const model = new URL(url ?? '/', 'ws://local-agent').searchParams.get('model');
    return model !== null && model !== '' ? model : undefined;
  } catch {
    return undefined;
  }
}

// The part of drachtio-srf (5.x, CommonJS) that grok-sip uses, typed here once. Its bundled
// typings miss what we need (Srf#request's auth and 'response' event, Dialog#request's options,
// the `canceled` flag, connect/listen option shapes), so call sites use these types and never
// cast; the one cast to the constructor is below.
import type { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import { createRequire } from 'node:module';

export interface SrfMessage {
  readonly body: string;
  readonly source_address: string;
  readonly source_port: string | number;
  readonly protocol: string;
  get(name: string): string | undefined;
  has(name: string): boolean;
}

export interface SrfRequest extends SrfMessage {
  readonly method: string;
  readonly uri: string;
  readonly canceled?: boolean;
  on(event: 'cancel', listener: () => void): void;
  /** Responses to a request we sent (Srf#request). */
  on(event: 'response', listener: (res: SrfResponseMessage) => void): void;
}

export interface SrfResponseMessage extends SrfMessage {
  readonly status: number;
  readonly reason: string;
}

export interface SrfResponse {
  readonly finalResponseSent: boolean;
  send(status: number, reason?: string, opts?: { headers?: Record<string, string>; body?: string }): void;
}

export interface SrfDialog extends EventEmitter {
  readonly sip: { readonly callId: string };
  readonly local: { sdp: string };
  readonly remote: { sdp: string };
  destroy(opts?: { headers?: Record<string, string> }): Promise<unknown>;
  request(opts: {
    method: string;
    headers?: Record<string, string>;
    body?: string;
  }): Promise<SrfResponseMessage>;
}

export interface SrfConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
}

export interface SrfListenOptions {
  /** A server already listening: its bind errors are ours to handle (srf.listen leaves them uncaught). */
  readonly server: Server;
  readonly secret: string;
}

export interface SrfRequestOptions {
  readonly method: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly auth?: { readonly username: string; readonly password: string };
}

export interface Srf extends EventEmitter {
  connect(opts: SrfConnectOptions): void;
  listen(opts: SrfListenOptions): void;
  disconnect(): void;
  /** Outbound mode: closes the per-call connection a request or response came over. */
  endSession(req: SrfRequest): void;
  createUAS(
    req: SrfRequest,
    res: SrfResponse,
    opts: { localSdp: string; headers?: Record<string, string> },
  ): Promise<SrfDialog>;
  request(uri: string, opts: SrfRequestOptions): Promise<SrfRequest>;
  invite(listener: (req: SrfRequest, res: SrfResponse) => void): void;
  options(listener: (req: SrfRequest, res: SrfResponse) => void): void;
}

const require = createRequire(import.meta.url);
const SrfConstructor = require('drachtio-srf') as new () => Srf;

export function createSrf(): Srf {
  return new SrfConstructor();
}

/** drachtio-srf's wire protocol object (internal: `srf._app.client.wp`), for what the API lacks. */
interface WireProtocolInternals {
  closing?: boolean;
  /** The listening net.Server in outbound mode (a getter returning the server, not a boolean). */
  isServer?: unknown;
  reconnectVars?: { retryTimer?: NodeJS.Timeout | null };
  server?: { close(cb?: () => void): void };
}

/**
 * Ends an Srf for good: Srf#disconnect asserts a live socket, so with drachtio-server unreachable
 * it throws and drachtio-srf's reconnect timer keeps the process alive. This stops the retries
 * (drachtio-srf 5.0.x internals, the only place that touches them), closes the outbound-mode
 * listener, and disconnects a live socket.
 */
export function closeSrf(srf: Srf, connected: boolean): void {
  const wp = (srf as unknown as { _app?: { client?: { wp?: WireProtocolInternals } } })._app?.client?.wp;
  const outbound = Boolean(wp?.isServer);
  if (wp !== undefined) {
    wp.closing = true;
    if (wp.reconnectVars?.retryTimer) clearTimeout(wp.reconnectVars.retryTimer);
    if (outbound) wp.server?.close();
  }
  if (connected && !outbound) {
    try {
      srf.disconnect();
    } catch {
      // Already gone between the check and the call.
    }
  }
}

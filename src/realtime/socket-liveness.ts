// Noticing a realtime socket that is half-open or stalled (issue 15): TCP does not tell us when
// the far end is gone or stuck, and a call that keeps appending audio to such a socket is just a
// silent call. Three checks, each ending the socket with its cause (the session then reconnects
// as after any lost connection):
//   - ping: a WebSocket ping every pingIntervalMs; no pong within pongTimeoutMs → dead;
//   - idle: no frame at all (data, ping, pong) for idleTimeoutMs → dead (the live service also
//     pings us, so a healthy socket is never idle that long);
//   - backpressure: more than maxBufferedMs of our audio unsent in the socket (realtime-session.ts).
import type { WebSocket } from 'ws';

export interface LivenessSettings {
  /** 0 turns the ping check off. */
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  /** 0 turns the idle check off. */
  readonly idleTimeoutMs: number;
  /** Caller audio unsent in the socket past which the server counts as stuck. */
  readonly maxBufferedMs: number;
}

export const DEFAULT_LIVENESS: LivenessSettings = {
  pingIntervalMs: 10_000,
  pongTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  // About 2 s of audio: more and the agent would answer late anyway.
  maxBufferedMs: 2_000,
};

export class SocketLiveness {
  readonly #ws: WebSocket;
  readonly #settings: LivenessSettings;
  readonly #dead: (cause: string) => void;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongDeadline: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(ws: WebSocket, settings: LivenessSettings, dead: (cause: string) => void) {
    this.#ws = ws;
    this.#settings = settings;
    this.#dead = dead;
  }

  start(): void {
    const ws = this.#ws;
    ws.on('message', this.#alive);
    ws.on('ping', this.#alive);
    ws.on('pong', this.#onPong);
    this.#alive();
    if (this.#settings.pingIntervalMs > 0) {
      this.#pingTimer = setInterval(() => this.#ping(), this.#settings.pingIntervalMs);
      this.#pingTimer.unref();
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongDeadline);
    clearTimeout(this.#idleTimer);
    this.#ws.off('message', this.#alive);
    this.#ws.off('ping', this.#alive);
    this.#ws.off('pong', this.#onPong);
  }

  #ping(): void {
    if (this.#stopped || this.#ws.readyState !== this.#ws.OPEN || this.#pongDeadline !== undefined) return;
    this.#ws.ping();
    this.#pongDeadline = setTimeout(
      () => this.#fail(`no pong within ${this.#settings.pongTimeoutMs} ms of our ping`),
      this.#settings.pongTimeoutMs,
    );
    this.#pongDeadline.unref();
  }

  readonly #onPong = (): void => {
    clearTimeout(this.#pongDeadline);
    this.#pongDeadline = undefined;
    this.#alive();
  };

  readonly #alive = (): void => {
    if (this.#stopped || this.#settings.idleTimeoutMs <= 0) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(
      () => this.#fail(`no frame from the server for ${this.#settings.idleTimeoutMs} ms`),
      this.#settings.idleTimeoutMs,
    );
    this.#idleTimer.unref();
  };

  #fail(cause: string): void {
    if (this.#stopped) return;
    this.stop();
    this.#dead(cause);
  }
}

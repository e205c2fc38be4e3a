// The boundary around every input from the wire (DESIGN.md "Failure rules"): a SIP datagram or
// byte stream, an RTP/RTCP datagram, a realtime WebSocket frame. Whatever a handler throws on
// such an input becomes a drop (or, where the caller can still form one, a 400) — never an
// exception that reaches the process or another call. Each rejection is counted per kind
// (grok_sip_rejected_input_total{kind}) and logged once per source and kind, so a scanner or a
// flood cannot flood the log.
import { LogOnce, logger } from './logger.js';

/** Where a rejected input came in. */
export type InputKind =
  | 'sip' // a SIP message refused before or by the stack (malformed, unparseable, threw)
  | 'sip-stream' // TCP framing: lying Content-Length, oversize header block, too many connections
  | 'sip-flood' // a request over a per-source rate limit
  | 'sip-stack' // an exception out of sip.js (receive, timer or send) caught at the boundary
  | 'tls' // a TLS handshake that failed, in or out (plain bytes, untrusted certificate, wrong name)
  | 'rtp' // an RTP/RTCP datagram dropped (malformed, foreign source)
  | 'realtime'; // a realtime WebSocket frame dropped (not JSON, unknown, oversize)

const log = logger.child({ module: 'input-boundary' });

export class RejectedInputs {
  readonly #counts = new Map<InputKind, number>();
  readonly #logOnce = new LogOnce(4096);
  readonly #threads = new Map<string, readonly [InputKind, number][]>();

  /**
   * Counts one rejected input; logs it the first time this kind comes from this source (later
   * ones, whatever their reason, are only counted: a fuzzer varies reasons at will). `source` is
   * `transport:address` (no port: a scanner's ports change per packet) or a call id; `err` is
   * the caught exception.
   */
  reject(kind: InputKind, source: string, reason: string, err?: unknown): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    if (!this.#logOnce.first(`${kind}|${source}`)) return;
    const fields: Record<string, unknown> = { kind, source, reason };
    if (err !== undefined) fields.err = err;
    log.warn(fields, 'input rejected');
  }

  count(kind: InputKind): number {
    return this.entries().find(([k]) => k === kind)?.[1] ?? 0;
  }

  /** This thread's counts only (what a call thread reports to the main thread). */
  own(): [InputKind, number][] {
    return [...this.#counts];
  }

  /** A call thread's running totals (already logged there), included in entries() from now on. */
  setThreadTotals(thread: string, totals: readonly [InputKind, number][]): void {
    this.#threads.set(thread, totals);
  }

  entries(): [InputKind, number][] {
    const sum = new Map(this.#counts);
    for (const totals of this.#threads.values())
      for (const [k, n] of totals) sum.set(k, (sum.get(k) ?? 0) + n);
    return [...sum];
  }
}

/** One per process: the metrics read it, every input edge writes to it. */
export const rejectedInputs = new RejectedInputs();

/**
 * Runs `handle` on one input; an exception is counted and logged as a rejection of `kind` and
 * `undefined` is returned. The message of the error becomes the reason (bounded in length).
 */
export function guardInput<T>(kind: InputKind, source: string, handle: () => T): T | undefined {
  try {
    return handle();
  } catch (err) {
    rejectedInputs.reject(kind, source, reasonOf(err), err);
    return undefined;
  }
}

export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

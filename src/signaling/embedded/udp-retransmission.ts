// The UDP retransmissions sip.js 0.21.2 leaves out (its transactions carry "FIXME: Timer A/E not
// implemented" and "Missing timer G"), done at the transport where every send passes by:
//   Timer A (RFC 3261 §17.1.1.2): INVITE request, T1 doubling, until any response or Timer B.
//   Timer E (§17.1.2.2): non-INVITE request, T1 doubling capped at T2, until a final response or
//     Timer F; after a provisional response, every T2.
//   Timer G (§17.2.1): non-2xx final response to INVITE, T1 doubling capped at T2, until the ACK
//     (same branch) or Timer H.
// 2xx retransmission until ACK (§13.3.1.4) is already done by sip.js's dialog layer.
export const T1_MS = 500;
export const T2_MS = 4000;
const GIVE_UP_MS = 64 * T1_MS;

interface Pending {
  timer: NodeJS.Timeout;
  intervalMs: number;
  readonly startedMs: number;
  readonly capMs: number;
  readonly resend: () => void;
}

export class UdpRetransmitter {
  /** Keyed by `req|<branch>|<method>` for our requests and `res|<branch>` for responses to INVITE. */
  readonly #pending = new Map<string, Pending>();

  /** Timer A (INVITE, no cap before Timer B) or Timer E (other methods, capped at T2). ACK is never retransmitted. */
  request(branch: string, method: string, resend: () => void): void {
    if (method === 'ACK') return;
    this.#start(`req|${branch}|${method}`, method === 'INVITE' ? Infinity : T2_MS, resend);
  }

  /** A response arrived for one of our requests (CSeq method distinguishes CANCEL from INVITE). */
  responseReceived(branch: string, method: string, status: number): void {
    const key = `req|${branch}|${method}`;
    const p = this.#pending.get(key);
    if (p === undefined) return;
    if (method !== 'INVITE' && status < 200) {
      // §17.1.2.2: in Proceeding, Timer E fires every T2.
      clearTimeout(p.timer);
      p.intervalMs = T2_MS;
      p.timer = this.#arm(key, p);
      return;
    }
    this.#stop(key);
  }

  /** Timer G for a non-2xx final response we sent to an INVITE. */
  inviteFailureSent(branch: string, resend: () => void): void {
    this.#start(`res|${branch}`, T2_MS, resend);
  }

  ackReceived(branch: string): void {
    this.#stop(`res|${branch}`);
  }

  stopAll(): void {
    for (const key of [...this.#pending.keys()]) this.#stop(key);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  #start(key: string, capMs: number, resend: () => void): void {
    if (this.#pending.has(key)) return; // sip.js re-sending the same message (e.g. a response to a retransmission)
    const p: Pending = {
      timer: undefined as unknown as NodeJS.Timeout,
      intervalMs: T1_MS,
      startedMs: Date.now(),
      capMs,
      resend,
    };
    p.timer = this.#arm(key, p);
    this.#pending.set(key, p);
  }

  #arm(key: string, p: Pending): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (Date.now() - p.startedMs >= GIVE_UP_MS) {
        // Timers B/F/H belong to sip.js's transactions; we only stop repeating.
        this.#pending.delete(key);
        return;
      }
      p.resend();
      p.intervalMs = Math.min(p.intervalMs * 2, p.capMs);
      p.timer = this.#arm(key, p);
    }, p.intervalMs);
    timer.unref();
    return timer;
  }

  #stop(key: string): void {
    const p = this.#pending.get(key);
    if (p === undefined) return;
    clearTimeout(p.timer);
    this.#pending.delete(key);
  }
}

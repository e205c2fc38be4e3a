// Which UDP listener each call came in on (Call-ID → local port), so our in-dialog requests of
// that call leave from the same socket, naming it in Via and Contact (several UDP listeners:
// docs/configuration.md `sip.listen`); also which TLS connection (Call-ID → connection key,
// node-transport.ts). Bounded: the 10,000 calls heard from most recently.
import { detached } from './sip-message-text.js';

const MAX_CALLS = 10_000;
/** A Call-ID longer than any real one (RFC 3261 §20.8 suggests ~40 chars) is not remembered. */
const MAX_CALL_ID_CHARS = 256;

export class CallListeners {
  readonly #byCallId = new Map<string, string>();

  get(callId: string | undefined): string | undefined {
    return callId === undefined ? undefined : this.#byCallId.get(callId);
  }

  remember(callId: string | undefined, localPort: string): void {
    if (callId === undefined || callId.length > MAX_CALL_ID_CHARS) return;
    if (this.#byCallId.get(callId) === localPort) return;
    this.#byCallId.delete(callId);
    // A detached copy: a slice would keep the whole message alive (sip-message-text.ts detached).
    this.#byCallId.set(detached(callId), localPort);
    // Oldest first: a call silent for the last 10k calls falls back to the per-peer choice.
    if (this.#byCallId.size > MAX_CALLS) this.#byCallId.delete(this.#byCallId.keys().next().value!);
  }
}

// The boundary every carrier stream message passes (DESIGN.md failure rules): a flood ends the
// stream, and so does a message that breaks the protocol; either is logged once, with the reason,
// and ends that call only. One per stream.
import type { Logger } from '../observability/logger.js';

/** Twilio and Vonage send 50 audio messages a second; 5× that is no carrier's doing. */
const maxMessagesPerSec = 250;

export class StreamGuard {
  readonly #log: Logger;
  #windowStartMs = 0;
  #inWindow = 0;
  #violated = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Counts one message; false once the stream has sent more than maxMessagesPerSec in a second. */
  admit(nowMs: number): boolean {
    if (nowMs - this.#windowStartMs >= 1000) {
      this.#windowStartMs = nowMs;
      this.#inWindow = 0;
    }
    return ++this.#inWindow <= maxMessagesPerSec;
  }

  /** Logs the first violation of this stream (later ones are the same story); true the first time. */
  violation(provider: string, reason: string): boolean {
    if (this.#violated) return false;
    this.#violated = true;
    this.#log.warn({ reason }, `${provider} stream broke its protocol: ${reason}; ending this call`);
    return true;
  }
}

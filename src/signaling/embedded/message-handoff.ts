// What NodeTransport hands sip.js along with a message's text: the parse it already made, and
// when the message arrived.
//
// The parse (docs/embedded-sip.md G5, was K9): the transport parses every message for its screens
// (policy, Request-URI, Require), then `UserAgent.onTransportMessage` parses the same text again
// (lib/api/user-agent.js:787). sip.js's parser is slow — ~1.6 ms for a warm INVITE, 5–30 ms for
// the first messages of a process, measured on this 2-core VM — so the second parse was a third
// of the time from INVITE to 100 Trying. `Core.Parser.parseMessage` is a property of a mutable
// namespace object that onTransportMessage reads at call time; wrapped, it returns the transport's
// own parse when it is handed exactly the text being delivered, and parses anything else itself.
//
// The arrival: the moment the datagram (or the TCP message) reached the transport, on the
// performance.now() timeline, so a call's setup time counts from there (issue 16), not from when
// the call layer got round to it; and a call we place counts to its 2xx's arrival, not to when
// sip.js had parsed it and sent the ACK.
import { Core } from 'sip.js';

type IncomingMessage = Core.IncomingRequestMessage | Core.IncomingResponseMessage;

let pending: { readonly text: string; readonly message: IncomingMessage } | undefined;
let installed = false;
const arrivals = new WeakMap<IncomingMessage, number>();

/** Idempotent: the parser namespace is shared by every UserAgent in the process. */
export function installParseHandoff(): void {
  if (installed) return;
  installed = true;
  const parser = Core.Parser as { parseMessage: typeof Core.Parser.parseMessage };
  const parse = parser.parseMessage;
  parser.parseMessage = (data, logger) => {
    const handed = pending;
    if (handed !== undefined && handed.text === data) {
      pending = undefined;
      return handed.message;
    }
    return parse(data, logger);
  };
}

/**
 * Calls `deliver(text)` (the UserAgent's onMessage) with `message` standing as sip.js's parse of
 * `text`; `receivedAtMs` is kept with the message (arrivalOf).
 */
export function deliverParsed(
  text: string,
  message: IncomingMessage,
  receivedAtMs: number,
  deliver: (text: string) => void,
): void {
  arrivals.set(message, receivedAtMs);
  pending = { text, message };
  try {
    deliver(text);
  } finally {
    pending = undefined;
  }
}

/** When `message` reached the transport (performance.now() ms), if it came through deliverParsed. */
export function arrivalOf(message: IncomingMessage): number | undefined {
  return arrivals.get(message);
}

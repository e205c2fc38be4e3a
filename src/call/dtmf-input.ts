// Key presses from the caller, by either road: RFC 4733 telephone-event on RTP (digits reported by
// the RTP session), or SIP INFO (`application/dtmf-relay`, `application/dtmf`) from peers that
// send DTMF out of band. Both end up as one text turn for the agent.
import { isDtmfDigit, type DtmfDigit } from '../media/dtmf-event.js';
import type { InfoRequest } from '../signaling/signaling-backend.js';

/**
 * The digit in an INFO body, or null when the INFO is not DTMF (or not parseable).
 * `application/dtmf-relay`: `Signal=5\r\nDuration=160` (Cisco/Asterisk, no RFC);
 * `application/dtmf`: the bare digit (draft-kaplan-dispatch-info-dtmf-package).
 */
export function digitFromInfo(info: InfoRequest): DtmfDigit | null {
  const type = info.contentType.split(';')[0]!.trim().toLowerCase();
  let candidate: string | undefined;
  if (type === 'application/dtmf-relay') {
    candidate = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(info.body)?.[1];
  } else if (type === 'application/dtmf') {
    candidate = info.body.trim();
  } else {
    return null;
  }
  if (candidate === undefined) return null;
  // Signal=10 / 11 are '*' / '#' in the Cisco form.
  const digit = candidate === '10' ? '*' : candidate === '11' ? '#' : candidate.toUpperCase();
  return isDtmfDigit(digit) ? digit : null;
}

/** The text turn the agent receives for a key press. */
export function dtmfTurnText(digit: DtmfDigit): string {
  return `[The caller pressed the telephone key "${digit}".]`;
}

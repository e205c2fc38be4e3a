// What the agent's tools may do to the call. CallSession's connected call implements it.
import type { ReferOutcome } from '../../signaling/signaling-backend.js';

export interface CallControl {
  /** BYE once the agent audio already queued (the farewell) has played, or after timeoutMs. */
  hangupAfterPlayout(timeoutMs: number): void;
  /** Closes the agent session first (no agent audio bleeds into the new leg), then REFERs. */
  transfer(targetUri: string): Promise<ReferOutcome>;
  /** RFC 4733 digits on the call's RTP. Rejects on invalid digits. */
  sendDtmf(digits: string): Promise<void>;
}

// sip.js's SessionDescriptionHandler turned into a pass-through: the call layer writes the SDP
// (through the one SDP module) and owns the RTP sockets; sip.js only carries the text and keeps
// the offer/answer state (RFC 3264) of the dialog.
import type { BodyAndContentType, Session, SessionDescriptionHandler } from 'sip.js';

/** The SDP side of one call, shared between the backend and the handler sip.js creates lazily. */
export class SdpExchange {
  /** The last SDP the peer sent (offer or answer). */
  remoteSdp: string | null;
  /** Our SDP for the next getDescription: the initial answer, or our offer on a late-offer INVITE. */
  localSdp: string | null = null;
  /** Asked for an answer to an offer that arrives after the initial exchange (re-INVITE). */
  answerReoffer: (offer: string) => Promise<string | null> = () => Promise.resolve(null);
  /** True once the initial offer/answer is done (then a new remote offer is a re-INVITE). */
  settled = false;

  constructor(offer: string | null) {
    this.remoteSdp = offer;
  }
}

const exchanges = new WeakMap<Session, SdpExchange>();

export function attachExchange(session: Session, exchange: SdpExchange): void {
  exchanges.set(session, exchange);
}

const SDP = 'application/sdp';

class PassthroughHandler implements SessionDescriptionHandler {
  readonly #exchange: SdpExchange;
  #pendingRemoteOffer = false;
  #awaitingAnswer = false;

  constructor(exchange: SdpExchange) {
    this.#exchange = exchange;
  }

  async getDescription(): Promise<BodyAndContentType> {
    const ex = this.#exchange;
    if (this.#pendingRemoteOffer) {
      this.#pendingRemoteOffer = false;
      if (!ex.settled) return { body: this.#local(), contentType: SDP };
      const answer = await ex.answerReoffer(ex.remoteSdp ?? '');
      // Throwing makes sip.js answer 488 (RFC 3261 §14.2) and leaves the session as it was.
      if (answer === null) throw new Error('re-INVITE offer refused');
      ex.localSdp = answer;
      return { body: answer, contentType: SDP };
    }
    // We make the offer: a late-offer INVITE, or a re-INVITE without SDP (we repeat our last one).
    this.#awaitingAnswer = true;
    return { body: this.#local(), contentType: SDP };
  }

  // sip.js's SessionDescriptionHandler interface is asynchronous; ours has nothing to wait for.
  setDescription(sdp: string): Promise<void> {
    this.#exchange.remoteSdp = sdp;
    if (this.#awaitingAnswer) this.#awaitingAnswer = false;
    else this.#pendingRemoteOffer = true;
    return Promise.resolve();
  }

  hasDescription(contentType: string): boolean {
    return contentType.toLowerCase().split(';')[0]!.trim() === SDP;
  }

  rollbackDescription(): Promise<void> {
    this.#pendingRemoteOffer = false;
    this.#awaitingAnswer = false;
    return Promise.resolve();
  }

  sendDtmf(): boolean {
    return false; // DTMF is RTP telephone-event, sent by the media layer
  }

  close(): void {}

  #local(): string {
    const sdp = this.#exchange.localSdp;
    if (sdp === null) throw new Error('no local SDP set before the answer');
    return sdp;
  }
}

export function passthroughHandlerFactory(session: Session): SessionDescriptionHandler {
  const exchange = exchanges.get(session);
  if (exchange === undefined) throw new Error('no SDP exchange attached to the session');
  return new PassthroughHandler(exchange);
}

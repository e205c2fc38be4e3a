// The SIP call leg: RTP on our port pair and the SIP dialog. Caller audio, RFC 4733 and INFO
// digits, the RTP timeout, hold/resume and address changes by re-INVITE (RFC 3264 §8), REFER for
// transfer, BYE both ways — all turned into the CallLeg events the conversation understands.
import { EventEmitter } from 'node:events';
import { codecFormat, type AudioFormat } from '../audio/audio-format.js';
import type { PortPair } from '../media/port-pool.js';
import { RtpSession } from '../media/rtp-session.js';
import type { Logger } from '../observability/logger.js';
import type { CallEndReason } from '../observability/call-detail-record.js';
import { buildAnswer, negotiate, parseSdp, SdpError, type NegotiatedMedia } from '../signaling/sdp/index.js';
import type { Dialog, DialogEndReason, ReferOutcome, ReinviteOffer } from '../signaling/signaling-backend.js';
import type { CallLeg, CallLegEvents, CallLegStats } from './call-leg.js';
import { digitFromInfo } from './dtmf-input.js';

export interface SipLegOptions {
  readonly dialog: Dialog;
  readonly negotiated: NegotiatedMedia;
  readonly pair: PortPair;
  readonly localMedia: { readonly address: string; readonly port: number; readonly sessionId: string };
  readonly rtpTimeoutSec: number;
  readonly dialogEndReason: (reason: DialogEndReason) => CallEndReason;
  readonly log: Logger;
}

export class SipLeg implements CallLeg {
  readonly format: AudioFormat;
  readonly events = new EventEmitter<CallLegEvents>();
  readonly unheardMs = 0;
  readonly #o: SipLegOptions;
  readonly #rtp: RtpSession;
  #negotiated: NegotiatedMedia;
  #sdpVersion = 1;

  constructor(options: SipLegOptions) {
    this.#o = options;
    const { negotiated, log } = options;
    this.#negotiated = negotiated;
    this.format = codecFormat(negotiated.codec);
    this.#rtp = new RtpSession({
      pair: options.pair,
      payloadType: negotiated.payloadType,
      ...(negotiated.telephoneEventPt !== undefined && {
        telephoneEventPayloadType: negotiated.telephoneEventPt,
      }),
      ...remoteOf(negotiated),
      ...(negotiated.srtp !== undefined && { srtp: negotiated.srtp }),
      ptimeMs: 20,
      rtpTimeoutMs: options.rtpTimeoutSec * 1000,
      logger: log,
    });
    const events = this.events;
    this.#rtp.on('audio', (p) => events.emit('audio', p));
    this.#rtp.on('comfort-noise', (p) => events.emit('non-audio', p));
    this.#rtp.on('telephone-event', (p) => events.emit('non-audio', p));
    this.#rtp.on('dtmf', ({ digit }) => events.emit('dtmf', digit));
    this.#rtp.on('timeout', (silentMs) => {
      log.info({ silentMs }, 'no RTP from the caller: hanging up');
      events.emit('hangup-wanted', 'rtp-timeout');
    });

    const dialog = options.dialog.events;
    dialog.on('bye', () => events.emit('ended', 'remote-bye'));
    dialog.on('terminated', ({ reason }) => events.emit('ended', options.dialogEndReason(reason)));
    dialog.on('reinvite', (offer) => this.#onReinvite(offer));
    dialog.on('info', (info) => {
      const digit = digitFromInfo(info);
      if (digit !== null) events.emit('dtmf', digit);
    });
  }

  /** Whether our answer lets us send (not on hold): read once the conversation listens. */
  get muted(): boolean {
    return !mayReceive(this.#negotiated);
  }

  sendFrame(payload: Buffer | null, nowMs: number): void {
    this.#rtp.sendFrame(payload, nowMs);
  }

  clearPlayout(): void {
    // RTP has no far-end buffer: what we did not send is not played.
  }

  hangup(): Promise<void> {
    return this.#o.dialog.hangup();
  }

  transfer(target: string): Promise<ReferOutcome> {
    return this.#o.dialog.refer(target);
  }

  sendDtmf(digits: string): Promise<void> {
    return this.#rtp.sendDtmf(digits);
  }

  stats(): CallLegStats {
    const rtp = this.#rtp.stats;
    return { packetsIn: rtp.packetsIn, packetsOut: rtp.packetsOut, jitterMs: rtp.inbound?.jitterMs ?? 0 };
  }

  close(): Promise<void> {
    return this.#rtp.close('call ended');
  }

  /** Hold, resume, session refresh or a new address: same codec, same port (RFC 3264 §8). */
  #onReinvite(offer: ReinviteOffer): void {
    let negotiated: NegotiatedMedia | null;
    try {
      // SRTP stays SRTP under our same key, plain stays plain (RFC 4568 §7.1.4).
      const srtp = this.#negotiated.srtp;
      negotiated = negotiate(parseSdp(offer.sdp), {
        codecs: [this.#negotiated.codec],
        ptimeMs: 20,
        srtp: srtp === undefined ? 'off' : 'required',
        ...(srtp !== undefined && { localCrypto: srtp.local }),
      });
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      negotiated = null;
    }
    if (negotiated === null) return offer.respond(null);
    this.#negotiated = negotiated;
    this.#sdpVersion++;
    this.#rtp.setRemote(remoteOf(negotiated).remote);
    if (negotiated.srtp !== undefined) this.#rtp.setSrtpRemoteKey(negotiated.srtp.remote);
    this.events.emit('muted', !mayReceive(negotiated));
    offer.respond(buildAnswer(negotiated, { ...this.#o.localMedia, sessionVersion: this.#sdpVersion }));
  }
}

/** Whether the peer wants our audio (our answer direction allows sending). */
function mayReceive(n: NegotiatedMedia): boolean {
  return !n.onHold && (n.direction === 'sendrecv' || n.direction === 'sendonly');
}

function remoteOf(n: NegotiatedMedia): { remote?: { address: string; port: number } } {
  const unspecified = n.remoteAddress === '0.0.0.0' || n.remoteAddress === '::';
  return unspecified ? {} : { remote: { address: n.remoteAddress, port: n.remotePort } };
}

// One incoming call on the embedded backend: the sip.js Invitation behind the backend-neutral
// IncomingCall and Dialog shapes of signaling-backend.ts.
import { ignore } from '../../observability/ignored-errors.js';
import { EventEmitter } from 'node:events';
import { SessionState, UserAgent, type Invitation, type Inviter } from 'sip.js';
import type {
  Dialog,
  DialogEndReason,
  IncomingCall,
  InfoRequest,
  ReferOutcome,
  ReinviteOffer,
  SourceAddress,
} from '../signaling-backend.js';
import { arrivalOf } from './message-handoff.js';
import { SdpExchange, attachExchange } from './sdp-passthrough.js';

/** How long the call layer may take to answer a re-INVITE offer before we refuse it (488). */
const REINVITE_ANSWER_MS = 5000;
/** Timer F (64*T1): a BYE or REFER without a final response is over by then. */
const NON_INVITE_TIMEOUT_MS = 32_000;
/** A transfer that is not reported final within this time is given up (sipfrag never came). */
const REFER_OUTCOME_MS = 120_000;

export interface CallContext {
  readonly source: SourceAddress;
  readonly dialledUser: string;
  readonly requestUri: string;
}

export class EmbeddedIncomingCall implements IncomingCall {
  readonly events = new EventEmitter<{ cancel: [] }>();
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly dialledUser: string;
  readonly requestUri: string;
  readonly source: SourceAddress;
  readonly offerSdp: string | null;
  readonly receivedAtMs: number | undefined;
  readonly #invitation: Invitation;
  readonly #exchange: SdpExchange;
  #progressed = false;
  #dialog: EmbeddedDialog | null = null;

  constructor(invitation: Invitation, context: CallContext) {
    this.#invitation = invitation;
    const message = invitation.request;
    this.callId = message.callId;
    this.from = message.getHeader('from') ?? '';
    this.to = message.getHeader('to') ?? '';
    this.dialledUser = context.dialledUser;
    this.requestUri = context.requestUri;
    this.source = context.source;
    this.receivedAtMs = arrivalOf(message);
    const contentType = (message.getHeader('content-type') ?? '').toLowerCase();
    this.offerSdp = message.body !== '' && contentType.startsWith('application/sdp') ? message.body : null;
    this.#exchange = new SdpExchange(this.offerSdp);
    attachExchange(invitation, this.#exchange);
    invitation.delegate = {
      onCancel: () => this.events.emit('cancel'),
    };
  }

  get currentDialog(): EmbeddedDialog | null {
    return this.#dialog;
  }

  header(name: string): string | undefined {
    return this.#invitation.request.getHeader(name);
  }

  progress(): void {
    if (this.#progressed || this.#invitation.state !== SessionState.Initial) return;
    this.#progressed = true;
    this.#invitation.progress().catch(ignore('embedded-call.send-180'));
  }

  async answer(localSdp: string): Promise<Dialog> {
    if (this.#dialog !== null) throw new Error('call already answered');
    this.#exchange.localSdp = localSdp;
    const dialog = new EmbeddedDialog(this.#invitation, this.#exchange);
    this.#dialog = dialog;
    const acked = dialog.waitForAck();
    await this.#invitation.accept();
    await acked;
    return dialog;
  }

  reject(status: number, reason?: string, extraHeaders?: Readonly<Record<string, string>>): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) {
      throw new RangeError(`reject needs a final non-2xx status 300–699, got ${status}`);
    }
    const state = this.#invitation.state;
    if (state !== SessionState.Initial && state !== SessionState.Establishing) return;
    this.#invitation
      .reject({
        statusCode: status,
        ...(reason !== undefined && { reasonPhrase: reason }),
        extraHeaders: Object.entries(extraHeaders ?? {}).map(([k, v]) => `${k}: ${v}`),
      })
      .catch(ignore('embedded-call.send-final-refusal'));
  }
}

export class EmbeddedDialog implements Dialog {
  readonly events = new EventEmitter<{
    bye: [];
    reinvite: [ReinviteOffer];
    info: [InfoRequest];
    terminated: [{ reason: DialogEndReason }];
  }>();
  readonly callId: string;
  readonly #invitation: Invitation | Inviter;
  readonly #exchange: SdpExchange;
  #endReason: DialogEndReason | null = null;
  #acked: boolean;
  #hangup: Promise<void> | undefined;

  /** `outbound`: a call we placed (Inviter); we send the ACK, so there is none to wait for. */
  constructor(invitation: Invitation | Inviter, exchange: SdpExchange, options: { outbound?: boolean } = {}) {
    this.#acked = options.outbound === true;
    this.#invitation = invitation;
    this.#exchange = exchange;
    this.callId = invitation.request.callId;
    exchange.answerReoffer = (offer) => this.#askForAnswer(offer);
    invitation.delegate = {
      ...invitation.delegate,
      onAck: (ack) => {
        this.#acked = true;
        // For a late offer the ACK carries the answer (RFC 3261 §13.2.1); sip.js reads it after this.
        const body = ack.request.body;
        if (body !== '' && !exchange.settled) exchange.remoteSdp = body;
        exchange.settled = true;
      },
      onBye: (bye) => {
        this.#endReason ??= 'remote-bye';
        bye.accept().catch(ignore('embedded-call.answer-bye'));
        this.events.emit('bye');
      },
      // A REFER from the peer asks us to place a call to its Refer-To (RFC 3515). sip.js, without
      // this, accepts it and follows it: any caller could make us dial anywhere (and each
      // referral's Inviter stayed in the UserAgent for good). We decline, as a PBX with
      // transfers off does; our own transfers are REFERs we send.
      onRefer: (referral) => {
        referral
          .reject({ statusCode: 603, reasonPhrase: 'Decline' })
          .catch(ignore('embedded-call.decline-refer'));
      },
      onInfo: (info) => {
        info.accept().catch(ignore('embedded-call.answer-info'));
        this.events.emit('info', {
          contentType: info.request.getHeader('content-type') ?? '',
          body: info.request.body,
        });
      },
    };
    invitation.stateChange.addListener((state) => {
      if (state !== SessionState.Terminated) return;
      this.events.emit('terminated', { reason: this.#endReason ?? (this.#acked ? 'local-bye' : 'no-ack') });
    });
  }

  get remoteSdp(): string {
    return this.#exchange.remoteSdp ?? '';
  }

  /** Resolves when the ACK for our 200 arrives; rejects if the session ends first. */
  waitForAck(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onState = (state: SessionState): void => {
        if (this.#acked) {
          this.#invitation.stateChange.removeListener(onState);
          resolve();
        } else if (state === SessionState.Terminated) {
          this.#invitation.stateChange.removeListener(onState);
          reject(new Error('call ended before the ACK (cancelled or Timer H)'));
        }
      };
      const previous = this.#invitation.delegate?.onAck;
      this.#invitation.delegate = {
        ...this.#invitation.delegate,
        onAck: (ack) => {
          previous?.(ack);
          this.#invitation.stateChange.removeListener(onState);
          resolve();
        },
      };
      this.#invitation.stateChange.addListener(onState);
    });
  }

  /** Marks why the dialog is ending before it is torn down by us (shutdown). */
  markEnding(reason: DialogEndReason): void {
    this.#endReason ??= reason;
  }

  /** Our BYE until its response (or timeout); the backend's stop() waits for it before closing sockets. */
  get byeInFlight(): Promise<void> | undefined {
    return this.#hangup;
  }

  hangup(): Promise<void> {
    if (this.#invitation.state === SessionState.Terminated) return this.#hangup ?? Promise.resolve();
    // Deferred a microtask: sip.js turns the session Terminated inside bye(), and the backend
    // reads byeInFlight at that moment.
    this.#hangup ??= Promise.resolve().then(() => this.#sendBye());
    return this.#hangup;
  }

  async #sendBye(): Promise<void> {
    this.#endReason ??= 'local-bye';
    let byeAnswered: (() => void) | undefined;
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, NON_INVITE_TIMEOUT_MS).unref();
      let terminated = false;
      let answered = this.#invitation.state !== SessionState.Established;
      const check = (): void => {
        if (!terminated || !answered) return;
        clearTimeout(timer);
        resolve();
      };
      byeAnswered = () => {
        answered = true;
        check();
      };
      this.#invitation.stateChange.addListener((s) => {
        if (s === SessionState.Terminated) {
          terminated = true;
          check();
        }
      });
    });
    if (this.#invitation.state === SessionState.Established) {
      // sip.js marks the session Terminated as the BYE leaves; wait for its response too, so that
      // a shutdown right after hangup() cannot close the socket under an unsent BYE.
      const answered = (): void => byeAnswered?.();
      await this.#invitation
        .bye({ requestDelegate: { onAccept: answered, onReject: answered } })
        .catch(() => answered());
    } else {
      await this.#invitation.dispose().catch(ignore('embedded-call.dispose'));
    }
    await ended;
  }

  refer(targetUri: string): Promise<ReferOutcome> {
    const target = UserAgent.makeURI(targetUri);
    if (target === undefined)
      return Promise.reject(new TypeError(`refer target ${JSON.stringify(targetUri)} is not a SIP URI`));
    return new Promise<ReferOutcome>((resolve) => {
      let referAccepted = false;
      let settled = false;
      const timer = setTimeout(
        () => done({ accepted: true, status: 408, reason: 'no final NOTIFY' }),
        REFER_OUTCOME_MS,
      );
      // A transferee may hang up right after the transfer without a final NOTIFY: answer at once
      // instead of holding the caller in silence until REFER_OUTCOME_MS.
      const onState = (state: SessionState): void => {
        if (state !== SessionState.Terminated) return;
        done(
          referAccepted
            ? { accepted: true, status: 0, reason: 'call ended before the final NOTIFY' }
            : { accepted: false, status: 0, reason: 'call ended before the REFER was answered' },
        );
      };
      const done = (outcome: ReferOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#invitation.stateChange.removeListener(onState);
        resolve(outcome);
      };
      this.#invitation.stateChange.addListener(onState);
      this.#invitation
        .refer(target, {
          requestDelegate: {
            onAccept: () => {
              referAccepted = true;
            },
            onReject: (response) =>
              done({
                accepted: false,
                status: response.message.statusCode ?? 0,
                reason: response.message.reasonPhrase ?? '',
              }),
          },
          onNotify: (notification) => {
            notification.accept().catch(ignore('embedded-call.answer-notify'));
            const request = notification.request;
            // sip.js hands every in-dialog NOTIFY here once a REFER was sent; only the refer
            // event package carries the transfer's progress (RFC 3515 §2.4.4).
            if (!/^refer\b/i.test(request.getHeader('event') ?? '')) return;
            // A NOTIFY may overtake the 202 (RFC 3515 §2.4.7): it implies acceptance.
            referAccepted = true;
            // RFC 3515 §2.4.5: the body is a message/sipfrag status line of the new call.
            const m = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/m.exec(request.body);
            if (m !== null && Number(m[1]) >= 200) {
              done({ accepted: true, status: Number(m[1]), reason: m[2]!.trim() });
            } else if (/^\s*terminated/i.test(request.getHeader('subscription-state') ?? '')) {
              done({ accepted: true, status: 408, reason: 'subscription ended without a final status' });
            }
          },
        })
        .catch((err: unknown) => done({ accepted: false, status: 0, reason: String(err) }));
    });
  }

  sendInfo(contentType: string, body: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#invitation
        .info({
          requestOptions: { body: { contentDisposition: 'render', contentType, content: body } },
          requestDelegate: {
            onAccept: (response) => resolve(response.message.statusCode ?? 200),
            onReject: (response) => resolve(response.message.statusCode ?? 0),
          },
        })
        .catch(reject);
    });
  }

  #askForAnswer(offer: string): Promise<string | null> {
    if (this.events.listenerCount('reinvite') === 0) {
      // Nobody handles changes: a session refresh gets our current SDP again (RFC 3264 §8).
      return Promise.resolve(this.#exchange.localSdp);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), REINVITE_ANSWER_MS);
      let answered = false;
      this.events.emit('reinvite', {
        sdp: offer,
        respond: (answerSdp) => {
          if (answered) return;
          answered = true;
          clearTimeout(timer);
          resolve(answerSdp);
        },
      });
    });
  }
}

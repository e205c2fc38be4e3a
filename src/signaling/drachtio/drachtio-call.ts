// One call on the drachtio backend: the drachtio-srf request/response of the INVITE behind the
// backend-neutral IncomingCall, and the srf Dialog behind Dialog. Same events and outcomes as the
// embedded backend, so the call layer cannot tell them apart.
import { ignore } from '../../observability/ignored-errors.js';
import { EventEmitter } from 'node:events';
import type {
  Dialog,
  DialogEndReason,
  IncomingCall,
  InfoRequest,
  ReferOutcome,
  ReinviteOffer,
  SourceAddress,
} from '../signaling-backend.js';
import type { Srf, SrfDialog, SrfRequest, SrfResponse } from './drachtio-srf-api.js';
import { unsupportedOptionTags } from '../sip-extensions.js';

/** RFC 3515 gives no bound; a transfer that never reports a final status is given up after this. */
const REFER_OUTCOME_MS = 120_000;
/** Timer H (64·T1, RFC 3261 §17.2.1) bounds the wait for the ACK of our 200. */
const ACK_WAIT_MS = 32_000;

export interface DrachtioCallContext {
  readonly source: SourceAddress;
  readonly dialledUser: string;
  readonly userAgent: string;
  /** The backend counts the dialog until it ends. */
  readonly onDialog: (dialog: DrachtioDialog) => void;
  /** The call ended without a dialog (refused, cancelled, answer failed): its slot is free. */
  readonly onFinished: () => void;
}

export class DrachtioIncomingCall implements IncomingCall {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly dialledUser: string;
  readonly requestUri: string;
  readonly source: SourceAddress;
  readonly offerSdp: string | null;
  readonly events = new EventEmitter<{ cancel: [] }>();
  readonly #srf: Srf;
  readonly #req: SrfRequest;
  readonly #res: SrfResponse;
  readonly #context: DrachtioCallContext;
  #ringing = false;
  #cancelled = false;

  constructor(srf: Srf, req: SrfRequest, res: SrfResponse, context: DrachtioCallContext) {
    this.#srf = srf;
    this.#req = req;
    this.#res = res;
    this.#context = context;
    this.callId = req.get('Call-ID') ?? '';
    this.from = req.get('From') ?? '';
    this.to = req.get('To') ?? '';
    this.dialledUser = context.dialledUser;
    this.requestUri = req.uri;
    this.source = context.source;
    this.offerSdp = req.body !== '' ? req.body : null;
    // drachtio-server answers the CANCEL (200) and the INVITE (487) itself.
    req.on('cancel', () => {
      this.#cancelled = true;
      context.onFinished();
      this.events.emit('cancel');
    });
  }

  header(name: string): string | undefined {
    return this.#req.get(name);
  }

  progress(): void {
    if (this.#ringing || this.#res.finalResponseSent || this.#cancelled) return;
    this.#ringing = true;
    this.#res.send(180);
  }

  async answer(localSdp: string): Promise<Dialog> {
    if (this.#cancelled) throw new Error('the caller cancelled');
    let srfDialog;
    try {
      srfDialog = await this.#srf.createUAS(this.#req, this.#res, {
        localSdp,
        headers: { 'User-Agent': this.#context.userAgent },
      });
    } catch (err) {
      this.#context.onFinished();
      throw err;
    }
    const dialog = new DrachtioDialog(srfDialog, this.offerSdp);
    this.#context.onDialog(dialog);
    // drachtio-srf resolves createUAS when the 200 is sent; the contract is "on the ACK".
    await dialog.waitForAck(this.offerSdp === null);
    return dialog;
  }

  reject(status: number, reason?: string, extraHeaders: Readonly<Record<string, string>> = {}): void {
    if (this.#res.finalResponseSent || this.#cancelled) return;
    this.#res.send(status, reason ?? '', { headers: { ...extraHeaders } });
    this.#context.onFinished();
  }
}

export class DrachtioDialog implements Dialog {
  readonly callId: string;
  readonly events = new EventEmitter<{
    bye: [];
    reinvite: [ReinviteOffer];
    info: [InfoRequest];
    terminated: [{ reason: DialogEndReason }];
  }>();
  readonly #dialog: SrfDialog;
  #remoteSdp: string;
  #ended = false;
  #endReason: DialogEndReason | null = null;
  #hangup: Promise<void> | undefined;

  constructor(dialog: SrfDialog, offerSdp: string | null) {
    this.#dialog = dialog;
    this.callId = dialog.sip.callId;
    this.#remoteSdp = offerSdp ?? dialog.remote.sdp ?? '';
    dialog.on('destroy', () => {
      this.#endReason ??= 'remote-bye';
      if (this.#endReason === 'remote-bye') this.events.emit('bye');
      this.#terminate();
    });
    dialog.on('modify', (req: SrfRequest, res: SrfResponse) => {
      const unsupported = unsupportedOptionTags([req.get('Require')]);
      if (unsupported.length > 0) {
        res.send(420, 'Bad Extension', { headers: { Unsupported: unsupported.join(', ') } });
        return;
      }
      const offer: ReinviteOffer = {
        sdp: req.body,
        respond: (answer) => {
          if (answer === null) return res.send(488);
          this.#remoteSdp = req.body;
          res.send(200, 'OK', { body: answer, headers: { 'Content-Type': 'application/sdp' } });
        },
      };
      if (this.events.listenerCount('reinvite') === 0) offer.respond(null);
      else this.events.emit('reinvite', offer);
    });
    // A REFER from the peer (RFC 3515) asks us to place a call: declined, as in the embedded
    // backend (drachtio-srf would answer 200 and do nothing).
    dialog.on('refer', (_req: SrfRequest, res: SrfResponse) => res.send(603, 'Decline'));
    dialog.on('info', (req: SrfRequest, res: SrfResponse) => {
      res.send(200);
      this.events.emit('info', { contentType: req.get('Content-Type') ?? '', body: req.body });
    });
  }

  get remoteSdp(): string {
    return this.#remoteSdp;
  }

  /**
   * Resolves on the ACK of our 200, which for a late offer must carry the answer (RFC 3261
   * §13.2.1). No ACK within Timer H, or a late-offer ACK without SDP: BYE, and reject.
   */
  waitForAck(needAnswer: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (reason: DialogEndReason, message: string): void => {
        this.#dialog.off('ack', onAck);
        this.#endReason ??= reason;
        void this.hangup();
        reject(new Error(message));
      };
      const timer = setTimeout(() => fail('no-ack', 'no ACK for our 200 (Timer H)'), ACK_WAIT_MS);
      const onAck = (): void => {
        clearTimeout(timer);
        const sdp = this.#dialog.remote.sdp;
        if (needAnswer && (sdp === undefined || sdp === '')) {
          fail('local-bye', 'the ACK carried no SDP answer');
          return;
        }
        if (needAnswer) this.#remoteSdp = sdp;
        resolve();
      };
      this.#dialog.once('ack', onAck);
      this.events.once('terminated', () => {
        clearTimeout(timer);
        this.#dialog.off('ack', onAck);
        reject(new Error('the dialog ended before the ACK'));
      });
    });
  }

  hangup(): Promise<void> {
    if (this.#ended) return this.#hangup ?? Promise.resolve();
    this.#endReason ??= 'local-bye';
    this.#hangup ??= this.#dialog
      .destroy()
      .catch(ignore('drachtio-call.send-bye'))
      .then(() => this.#terminate());
    return this.#hangup;
  }

  markEnding(reason: DialogEndReason): void {
    this.#endReason ??= reason;
  }

  async refer(targetUri: string): Promise<ReferOutcome> {
    if (!/^sips?:[^\s<>]+$/i.test(targetUri))
      throw new TypeError(`refer target ${JSON.stringify(targetUri)} is not a SIP URI`);
    return new Promise<ReferOutcome>((resolve) => {
      let accepted = false;
      const done = (outcome: ReferOutcome): void => {
        clearTimeout(timer);
        this.#dialog.off('notify', onNotify);
        this.events.off('terminated', onEnd);
        resolve(outcome);
      };
      const timer = setTimeout(
        () => done({ accepted, status: 408, reason: 'no final NOTIFY for the transfer' }),
        REFER_OUTCOME_MS,
      );
      const onEnd = (): void =>
        done({
          accepted,
          status: 0,
          reason: accepted
            ? 'call ended before the final NOTIFY'
            : 'call ended before the REFER was answered',
        });
      // RFC 3515 §2.4.5: each NOTIFY carries the new call's status line as message/sipfrag.
      const onNotify = (req: SrfRequest, res: SrfResponse): void => {
        res.send(200);
        if (!/^refer\b/i.test(req.get('Event') ?? '')) return;
        accepted = true;
        const frag = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/m.exec(req.body);
        const status = frag ? Number(frag[1]) : 0;
        if (status >= 200) return done({ accepted: true, status, reason: frag![2]!.trim() });
        if (/terminated/i.test(req.get('Subscription-State') ?? '')) {
          done({ accepted: true, status: 408, reason: 'subscription ended without a final status' });
        }
      };
      this.#dialog.on('notify', onNotify);
      this.events.once('terminated', onEnd);
      this.#dialog.request({ method: 'REFER', headers: { 'Refer-To': `<${targetUri}>` } }).then(
        (res) => {
          if (res.status >= 300) done({ accepted: false, status: res.status, reason: res.reason });
          else accepted = true;
        },
        (err: unknown) =>
          done({ accepted: false, status: 0, reason: `REFER not sent: ${(err as Error).message}` }),
      );
    });
  }

  async sendInfo(contentType: string, body: string): Promise<number> {
    const res = await this.#dialog.request({
      method: 'INFO',
      headers: { 'Content-Type': contentType },
      body,
    });
    return res.status;
  }

  #terminate(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.events.emit('terminated', { reason: this.#endReason ?? 'local-bye' });
  }
}

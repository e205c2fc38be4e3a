// An incoming call and its dialog carried across a thread boundary. SIP stays on the main thread
// (one stack, one set of sockets); each call runs in a call thread (src/app/call-threads.ts) with
// its own media clock, RTP sockets and realtime socket. The call thread sees the same
// IncomingCall / Dialog shapes as in-thread calls (signaling-backend.ts), backed by messages:
//
//   main thread (CallChannelHost)                    call thread (CallChannelGuest)
//   IncomingCall ──── call / cancel ───────────────▶ RemoteIncomingCall
//                ◀─── progress / answer / reject ───
//   Dialog ─────────── answered / bye / reinvite / info / terminated / reply ─▶ RemoteDialog
//          ◀────────── hangup / refer / send-info / reinvite-answer ────────────
//
// Messages are plain data (structured clone); each call is keyed by a number the host gives it
// (Call-IDs are the peer's and need not be unique).
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { ignore } from '../observability/ignored-errors.js';
import type {
  Dialog,
  DialogEndReason,
  IncomingCall,
  InfoRequest,
  ReferOutcome,
  ReinviteOffer,
  SourceAddress,
} from './signaling-backend.js';

/** Request headers copied to the call thread, where `header(name)` answers from this set. */
const carriedHeaders = [
  'user-agent',
  'p-asserted-identity',
  'remote-party-id',
  'diversion',
  'history-info',
  'subject',
  'priority',
  'call-info',
];

export interface CallOffer {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly dialledUser: string;
  readonly requestUri: string;
  readonly source: SourceAddress;
  readonly offerSdp: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** When the INVITE reached the transport, on the wall clock (performance.timeOrigin + now()). */
  readonly receivedAtWallMs?: number;
}

/** Main thread → call thread. */
export type ToCallThread =
  | { readonly type: 'call'; readonly key: number; readonly offer: CallOffer }
  | { readonly type: 'cancel'; readonly key: number }
  | { readonly type: 'answered'; readonly key: number; readonly remoteSdp: string }
  | { readonly type: 'answer-failed'; readonly key: number; readonly message: string }
  | { readonly type: 'bye'; readonly key: number }
  | { readonly type: 'terminated'; readonly key: number; readonly reason: DialogEndReason }
  | { readonly type: 'reinvite'; readonly key: number; readonly id: number; readonly sdp: string }
  | { readonly type: 'info'; readonly key: number; readonly info: InfoRequest }
  | {
      readonly type: 'reply';
      readonly key: number;
      readonly id: number;
      readonly ok: boolean;
      readonly value?: unknown;
      readonly message?: string;
    };

/** Call thread → main thread. */
export type FromCallThread =
  | { readonly type: 'progress'; readonly key: number }
  | { readonly type: 'answer'; readonly key: number; readonly sdp: string }
  | {
      readonly type: 'reject';
      readonly key: number;
      readonly status: number;
      readonly reason?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly type: 'hangup'; readonly key: number; readonly id: number }
  | { readonly type: 'refer'; readonly key: number; readonly id: number; readonly target: string }
  | {
      readonly type: 'send-info';
      readonly key: number;
      readonly id: number;
      readonly contentType: string;
      readonly body: string;
    }
  | {
      readonly type: 'reinvite-answer';
      readonly key: number;
      readonly id: number;
      readonly sdp: string | null;
    };

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface HostedCall {
  readonly call: IncomingCall;
  dialog?: Dialog;
  readonly reinvites: Map<number, ReinviteOffer>;
  nextReinvite: number;
}

/**
 * Main-thread end: hands calls to one call thread (`post`) and carries out what it asks of them.
 * The host keeps the real IncomingCall/Dialog, so if the call thread dies the main thread can
 * still end its calls (`abandon`).
 */
export class CallChannelHost {
  readonly #post: (message: ToCallThread) => void;
  readonly #calls = new Map<number, HostedCall>();

  constructor(post: (message: ToCallThread) => void) {
    this.#post = post;
  }

  get size(): number {
    return this.#calls.size;
  }

  offer(key: number, call: IncomingCall): void {
    const hosted: HostedCall = { call, reinvites: new Map(), nextReinvite: 0 };
    this.#calls.set(key, hosted);
    const headers: Record<string, string> = {};
    for (const name of carriedHeaders) {
      const value = call.header(name);
      if (value !== undefined) headers[name] = value;
    }
    call.events.on('cancel', () => this.#post({ type: 'cancel', key }));
    this.#post({
      type: 'call',
      key,
      offer: {
        callId: call.callId,
        from: call.from,
        to: call.to,
        dialledUser: call.dialledUser,
        requestUri: call.requestUri,
        source: { ...call.source },
        offerSdp: call.offerSdp,
        headers,
        ...(call.receivedAtMs !== undefined && {
          receivedAtWallMs: performance.timeOrigin + call.receivedAtMs,
        }),
      },
    });
  }

  /** The call thread is done with this call (its record arrived): forget it. */
  release(key: number): void {
    this.#calls.delete(key);
  }

  /**
   * The call thread is gone: every call it carried ends here, a BYE for the answered ones, a 500
   * for the others. Returns the keys that were still open.
   */
  abandon(): number[] {
    const keys = [...this.#calls.keys()];
    for (const hosted of this.#calls.values()) {
      if (hosted.dialog !== undefined) void hosted.dialog.hangup().catch(ignore('call-channel.abandon-bye'));
      else {
        try {
          hosted.call.reject(500, 'Server Internal Error');
        } catch (err) {
          ignore('call-channel.abandon-reject')(err);
        }
      }
    }
    this.#calls.clear();
    return keys;
  }

  handle(m: FromCallThread): void {
    const hosted = this.#calls.get(m.key);
    if (hosted === undefined) return; // a call already released or abandoned
    switch (m.type) {
      case 'progress':
        hosted.call.progress();
        return;
      case 'reject':
        hosted.call.reject(m.status, m.reason, m.headers);
        return;
      case 'answer':
        hosted.call.answer(m.sdp).then(
          (dialog) => {
            hosted.dialog = dialog;
            this.#forwardDialog(m.key, hosted, dialog);
            this.#post({ type: 'answered', key: m.key, remoteSdp: dialog.remoteSdp });
          },
          (err: unknown) => this.#post({ type: 'answer-failed', key: m.key, message: message(err) }),
        );
        return;
      case 'hangup':
        this.#reply(m.key, m.id, () => this.#dialog(hosted).hangup());
        return;
      case 'refer':
        this.#reply(m.key, m.id, () => this.#dialog(hosted).refer(m.target));
        return;
      case 'send-info':
        this.#reply(m.key, m.id, () => this.#dialog(hosted).sendInfo(m.contentType, m.body));
        return;
      case 'reinvite-answer': {
        const offer = hosted.reinvites.get(m.id);
        hosted.reinvites.delete(m.id);
        offer?.respond(m.sdp);
        return;
      }
    }
  }

  #dialog(hosted: HostedCall): Dialog {
    if (hosted.dialog === undefined) throw new Error('the call has no dialog');
    return hosted.dialog;
  }

  #reply(key: number, id: number, run: () => Promise<unknown>): void {
    let pending: Promise<unknown>;
    try {
      pending = run();
    } catch (err) {
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    pending.then(
      (value) => this.#post({ type: 'reply', key, id, ok: true, value }),
      (err: unknown) => this.#post({ type: 'reply', key, id, ok: false, message: message(err) }),
    );
  }

  #forwardDialog(key: number, hosted: HostedCall, dialog: Dialog): void {
    dialog.events.on('bye', () => this.#post({ type: 'bye', key }));
    dialog.events.on('terminated', ({ reason }) => this.#post({ type: 'terminated', key, reason }));
    dialog.events.on('info', (info) => this.#post({ type: 'info', key, info: { ...info } }));
    dialog.events.on('reinvite', (offer) => {
      const id = hosted.nextReinvite++;
      hosted.reinvites.set(id, offer);
      this.#post({ type: 'reinvite', key, id, sdp: offer.sdp });
    });
  }
}

class RemoteDialog implements Dialog {
  readonly callId: string;
  readonly remoteSdp: string;
  readonly events = new EventEmitter<{
    bye: [];
    reinvite: [ReinviteOffer];
    info: [InfoRequest];
    terminated: [{ reason: DialogEndReason }];
  }>();
  readonly #request: (m: RemoteRequest) => Promise<unknown>;

  constructor(callId: string, remoteSdp: string, request: (m: RemoteRequest) => Promise<unknown>) {
    this.callId = callId;
    this.remoteSdp = remoteSdp;
    this.#request = request;
  }

  async hangup(): Promise<void> {
    await this.#request({ type: 'hangup' });
  }

  async refer(targetUri: string): Promise<ReferOutcome> {
    return (await this.#request({ type: 'refer', target: targetUri })) as ReferOutcome;
  }

  async sendInfo(contentType: string, body: string): Promise<number> {
    return (await this.#request({ type: 'send-info', contentType, body })) as number;
  }
}

type RemoteRequest =
  | { type: 'hangup' }
  | { type: 'refer'; target: string }
  | { type: 'send-info'; contentType: string; body: string };

class RemoteIncomingCall implements IncomingCall {
  readonly callId: string;
  readonly from: string;
  readonly to: string;
  readonly dialledUser: string;
  readonly requestUri: string;
  readonly source: SourceAddress;
  readonly offerSdp: string | null;
  readonly receivedAtMs: number | undefined;
  readonly events = new EventEmitter<{ cancel: [] }>();
  readonly #headers: Readonly<Record<string, string>>;
  readonly #key: number;
  readonly #post: (message: FromCallThread) => void;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #answer: { resolve: (d: Dialog) => void; reject: (e: Error) => void } | undefined;
  dialog: RemoteDialog | undefined;

  constructor(key: number, offer: CallOffer, post: (message: FromCallThread) => void) {
    this.#key = key;
    this.#post = post;
    this.callId = offer.callId;
    this.from = offer.from;
    this.to = offer.to;
    this.dialledUser = offer.dialledUser;
    this.requestUri = offer.requestUri;
    this.source = offer.source;
    this.offerSdp = offer.offerSdp;
    this.#headers = offer.headers;
    // Each thread's performance.now() counts from its own timeOrigin.
    this.receivedAtMs =
      offer.receivedAtWallMs === undefined ? undefined : offer.receivedAtWallMs - performance.timeOrigin;
  }

  header(name: string): string | undefined {
    return this.#headers[name.toLowerCase()];
  }

  progress(): void {
    this.#post({ type: 'progress', key: this.#key });
  }

  answer(localSdp: string): Promise<Dialog> {
    return new Promise((resolve, reject) => {
      this.#answer = { resolve, reject };
      this.#post({ type: 'answer', key: this.#key, sdp: localSdp });
    });
  }

  reject(status: number, reason?: string, extraHeaders?: Readonly<Record<string, string>>): void {
    this.#post({
      type: 'reject',
      key: this.#key,
      status,
      ...(reason !== undefined && { reason }),
      ...(extraHeaders !== undefined && { headers: { ...extraHeaders } }),
    });
  }

  handle(m: ToCallThread): void {
    switch (m.type) {
      case 'cancel':
        this.events.emit('cancel');
        return;
      case 'answered':
        this.dialog = new RemoteDialog(this.callId, m.remoteSdp, (r) => this.#request(r));
        this.#answer?.resolve(this.dialog);
        this.#answer = undefined;
        return;
      case 'answer-failed':
        this.#answer?.reject(new Error(m.message));
        this.#answer = undefined;
        return;
      case 'bye':
        this.dialog?.events.emit('bye');
        return;
      case 'terminated':
        this.dialog?.events.emit('terminated', { reason: m.reason });
        return;
      case 'info':
        this.dialog?.events.emit('info', m.info);
        return;
      case 'reinvite': {
        const id = m.id;
        this.dialog?.events.emit('reinvite', {
          sdp: m.sdp,
          respond: (answerSdp) => this.#post({ type: 'reinvite-answer', key: this.#key, id, sdp: answerSdp }),
        });
        return;
      }
      case 'reply': {
        const pending = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.ok) pending?.resolve(m.value);
        else pending?.reject(new Error(m.message ?? 'failed'));
        return;
      }
      case 'call':
        return;
    }
  }

  #request(r: RemoteRequest): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#post({ ...r, key: this.#key, id });
    });
  }
}

/** Call-thread end: turns the host's messages into IncomingCalls for `onCall`. */
export class CallChannelGuest {
  readonly #post: (message: FromCallThread) => void;
  readonly #calls = new Map<number, RemoteIncomingCall>();
  readonly #onCall: (key: number, call: IncomingCall) => void;

  constructor(post: (message: FromCallThread) => void, onCall: (key: number, call: IncomingCall) => void) {
    this.#post = post;
    this.#onCall = onCall;
  }

  handle(m: ToCallThread): void {
    if (m.type === 'call') {
      const call = new RemoteIncomingCall(m.key, m.offer, this.#post);
      this.#calls.set(m.key, call);
      this.#onCall(m.key, call);
      return;
    }
    this.#calls.get(m.key)?.handle(m);
  }

  /** The call's record was sent: no more messages for it. */
  release(key: number): void {
    this.#calls.delete(key);
  }
}

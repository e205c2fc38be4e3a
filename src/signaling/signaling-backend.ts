// What the call layer sees of SIP: an incoming call, its dialog, and the registrations.
// Backend-neutral on purpose: the embedded (sip.js) backend and the drachtio-srf backend
// implement the same shapes, so no library type crosses this file.
import type { EventEmitter } from 'node:events';

export type SipTransportName = 'udp' | 'tcp' | 'tls';

export interface SourceAddress {
  readonly address: string;
  readonly port: number;
  readonly transport: SipTransportName;
}

/** What the log shows of a certificate we serve over TLS (never its key). */
export interface TlsCertificateInfo {
  readonly subject: string;
  readonly subjectAltName: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

export interface SignalingBackend {
  readonly name: 'embedded' | 'drachtio';
  /** Able to take calls: the embedded sockets listen, or drachtio-server is connected. */
  readonly connected: boolean;
  /** Binds the listeners and starts the registrations; resolves once the sockets listen. */
  start(): Promise<void>;
  /** Un-REGISTERs every account, ends calls still up with BYE, closes the sockets. */
  stop(): Promise<void>;
  /** Un-REGISTERs every account but keeps listening: the first step of a drain (live calls go on). */
  unregister(): Promise<void>;
  /**
   * Reads the TLS certificate, key and CA files again (SIGHUP): new handshakes get them, calls and
   * connections up keep theirs. Throws when a file fails (the old ones stay). Absent when the
   * backend has no TLS of its own (drachtio: drachtio-server holds the certificates).
   */
  reloadTls?(): readonly TlsCertificateInfo[];
  /** The certificates the TLS listeners serve now (absent as for reloadTls). */
  tlsCertificates?(): readonly TlsCertificateInfo[];
  /**
   * Places a call (UAC): INVITE with our offer, digest on 401/407, CANCEL on `signal` or timeout.
   * Resolves on the 2xx (ACK sent); rejects with an Error whose `status` is the final SIP status
   * (408 for our own timeout). Absent when the backend cannot place calls (drachtio, for now).
   */
  placeCall?(invite: OutboundInvite): Promise<PlacedCall>;
  /** One handler; a second call replaces the first. Calls arrive after the policy and maxCalls checks. */
  onIncomingCall(handler: (call: IncomingCall) => void): void;
  registrations(): readonly RegistrationState[];
  /** 'registration' is emitted with a RegistrationState whenever one changes. */
  readonly events: EventEmitter<{ registration: [RegistrationState] }>;
}

export interface IncomingCall {
  readonly callId: string;
  /** From and To header values as received (name-addr with parameters). */
  readonly from: string;
  readonly to: string;
  /** The Request-URI user, else the To user; '' when neither has one. */
  readonly dialledUser: string;
  readonly requestUri: string;
  readonly source: SourceAddress;
  /**
   * When the INVITE reached our transport, on the performance.now() timeline (setup time counts
   * from here); undefined when the backend cannot tell (drachtio: the call layer's own start).
   * Another thread's performance.now() has another origin: shift by the difference of the two
   * threads' performance.timeOrigin when handing it across.
   */
  readonly receivedAtMs?: number | undefined;
  /** The offer in the INVITE; null is a late offer (RFC 3261 §13.2.1): answer() then carries our offer. */
  readonly offerSdp: string | null;
  /** First value of a header (case-insensitive name), as received. */
  header(name: string): string | undefined;
  /** 180 Ringing (once; later calls do nothing). */
  progress(): void;
  /**
   * 200 OK with `localSdp` (our answer, or our offer for a late offer). Resolves with the dialog
   * when the ACK arrives; rejects if the caller cancelled first or no ACK came (Timer H).
   */
  answer(localSdp: string): Promise<Dialog>;
  /** A final non-2xx response; the call is over. */
  reject(status: number, reason?: string, extraHeaders?: Readonly<Record<string, string>>): void;
  /** 'cancel': the caller sent CANCEL (already answered 200 + 487 by the backend). */
  readonly events: EventEmitter<{ cancel: [] }>;
}

/** A call we place, as the call layer asks for it (a trunk's settings already applied). */
export interface OutboundInvite {
  /** Request-URI: sip:user@host[:port][;transport=tcp] */
  readonly target: string;
  readonly offerSdp: string;
  /** Call-ID of the INVITE (the call's id from the start, before anything is sent). */
  readonly callId?: string;
  readonly fromUser?: string;
  readonly fromDomain?: string;
  /** Outbound proxy sent as a preloaded Route. */
  readonly route?: string;
  readonly timeoutMs?: number;
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly signal?: AbortSignal;
  readonly onProgress?: (status: number) => void;
}

export interface PlacedCall {
  readonly dialog: Dialog;
  /** INVITE sent → 2xx received. */
  readonly setupMs: number;
  /** The answer in the 2xx. */
  readonly remoteSdp: string;
}

export interface ReinviteOffer {
  /** The new offer (hold, resume, session refresh, address change). */
  readonly sdp: string;
  /** Our answer; null refuses the offer with 488 and the call stays as it was. */
  respond(answerSdp: string | null): void;
}

export interface InfoRequest {
  readonly contentType: string;
  readonly body: string;
}

/** Final status of a transfer as reported by the transferee's NOTIFY sipfrag (RFC 3515 §2.4.5). */
export interface ReferOutcome {
  /** The REFER was refused (4xx-6xx) or timed out: the transfer never started. */
  readonly accepted: boolean;
  /** Final status of the new call from the sipfrag, or the REFER's own failure status. */
  readonly status: number;
  readonly reason: string;
}

export type DialogEndReason = 'local-bye' | 'remote-bye' | 'no-ack' | 'shutdown' | 'transport-error';

export interface Dialog {
  readonly callId: string;
  /** The current remote SDP: the INVITE offer, the ACK answer (late offer), or the last re-INVITE offer. */
  readonly remoteSdp: string;
  /** BYE; resolves once the dialog is over (whatever the BYE response). */
  hangup(): Promise<void>;
  /** REFER to `targetUri` and follow the NOTIFYs to a final sipfrag status. */
  refer(targetUri: string): Promise<ReferOutcome>;
  /** INFO in the dialog (e.g. application/dtmf-relay); resolves with the response status. */
  sendInfo(contentType: string, body: string): Promise<number>;
  readonly events: EventEmitter<{
    /** The remote party hung up (already answered 200). Followed by 'terminated'. */
    bye: [];
    reinvite: [ReinviteOffer];
    /** In-dialog INFO, already answered 200. */
    info: [InfoRequest];
    terminated: [{ reason: DialogEndReason }];
  }>;
}

export type RegistrationStatus = 'unregistered' | 'registering' | 'registered' | 'failed';

export interface RegistrationState {
  readonly aor: string;
  readonly registrar: string;
  readonly status: RegistrationStatus;
  /** Seconds granted by the registrar for the current binding. */
  readonly expiresSec?: number;
  /** Last failure (status code and reason, or a transport error message). */
  readonly lastError?: string;
  /** When the next REGISTER (refresh or retry) is due, wall clock ms. */
  readonly nextAttemptAtMs?: number;
}

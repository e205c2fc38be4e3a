// Registration of one account (RFC 3261 §10.2) on sip.js's core: the core's client transaction
// answers 401/407 with digest credentials (MD5, qop=auth); this keeps one Call-ID with rising
// CSeq, refreshes before the binding expires, retries with exponential backoff, and removes the
// binding (expires=0) on stop.
import { Core, URI, UserAgent } from 'sip.js';
import type { RegistrationState, RegistrationStatus, SipTransportName } from '../signaling-backend.js';
import { uriHost } from '../sip-uri.js';

export interface RegistrationAccount {
  /** Address of record, e.g. sip:bot@pbx.example.com */
  readonly aor: string;
  /** Registrar URI, e.g. sip:pbx.example.com;transport=tcp, sips:pbx.example.com (TLS, port 5061) */
  readonly registrar: string;
  /** Digest user; default the AOR user. */
  readonly username?: string;
  readonly password?: string;
  readonly expiresSec: number;
}

export interface RegistrationTiming {
  /** First retry delay after a failure; doubles up to maxRetryMs. */
  readonly retryBaseMs: number;
  readonly maxRetryMs: number;
}

/** What the client needs from the backend: the core, our address, the Contact port per transport. */
export interface RegistrationHost {
  readonly core: Core.UserAgentCore;
  readonly advertisedAddress: string;
  contactPort(transport: SipTransportName): number | undefined;
  readonly userAgent: string;
}

const UNREGISTER_WAIT_MS = 2000;

export class RegistrationClient {
  readonly account: RegistrationAccount;
  readonly #host: RegistrationHost;
  readonly #timing: RegistrationTiming;
  readonly #onChange: (state: RegistrationState) => void;
  readonly #registrar: URI;
  readonly #aor: URI;
  readonly #transport: SipTransportName;
  #request: Core.OutgoingRequestMessage | undefined;
  #state: RegistrationState;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #requestedExpiresSec: number;
  #stopped = false;
  #inFlight = false;

  constructor(
    account: RegistrationAccount,
    host: RegistrationHost,
    timing: RegistrationTiming,
    onChange: (state: RegistrationState) => void,
  ) {
    const registrar = UserAgent.makeURI(account.registrar);
    const aor = UserAgent.makeURI(account.aor);
    if (registrar === undefined)
      throw new TypeError(`registrar ${JSON.stringify(account.registrar)} is not a SIP URI`);
    if (aor === undefined || !aor.user)
      throw new TypeError(`AOR ${JSON.stringify(account.aor)} needs a user part`);
    this.account = account;
    this.#host = host;
    this.#timing = timing;
    this.#onChange = onChange;
    this.#registrar = registrar;
    this.#aor = aor;
    this.#requestedExpiresSec = account.expiresSec;
    const transportParam = String(registrar.getParam('transport') ?? '').toLowerCase();
    this.#transport =
      registrar.scheme === 'sips' || transportParam === 'tls'
        ? 'tls'
        : transportParam === 'tcp'
          ? 'tcp'
          : 'udp';
    this.#state = { aor: account.aor, registrar: account.registrar, status: 'unregistered' };
  }

  get state(): RegistrationState {
    return this.#state;
  }

  /** The From/To AOR (user@host) by which the credentials chooser finds this account. */
  get aorKey(): string {
    return `${this.#aor.user}@${this.#aor.host}`.toLowerCase();
  }

  start(): void {
    this.#stopped = false;
    this.#send(this.#requestedExpiresSec);
  }

  /** Un-REGISTER (if registered) and stop refreshing. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#state.status !== 'registered') {
      this.#set('unregistered', {});
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, UNREGISTER_WAIT_MS);
      this.#send(0, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#set('unregistered', {});
  }

  /**
   * The AOR user in our Contact, so a call routed to the binding arrives with it as R-URI user.
   * Over TLS: `sips:` to a sips: registrar (RFC 3261 §8.1.1.8), else `;transport=tls`; either way
   * our TLS listener's port, so calls to the binding come over TLS.
   */
  #contact(): string {
    const t = this.#transport;
    const port = this.#host.contactPort(t) ?? this.#host.contactPort(t === 'udp' ? 'tcp' : 'udp');
    const sips = this.#registrar.scheme === 'sips';
    const suffix = t === 'udp' || sips ? '' : `;transport=${t}`;
    return `<${sips ? 'sips' : 'sip'}:${this.#aor.user}@${uriHost(this.#host.advertisedAddress)}:${port}${suffix}>`;
  }

  #send(expiresSec: number, done?: () => void): void {
    if (this.#inFlight && done === undefined) return; // §10.2: one REGISTER at a time
    this.#request ??= this.#host.core.makeOutgoingRequestMessage(
      'REGISTER',
      this.#registrar,
      this.#aor,
      this.#aor,
      {},
      [],
      undefined,
    );
    const request = this.#request;
    request.cseq++;
    request.setHeader('cseq', `${request.cseq} REGISTER`);
    request.extraHeaders = [`Contact: ${this.#contact()};expires=${expiresSec}`, `Expires: ${expiresSec}`];
    if (expiresSec > 0) this.#set('registering', {});
    this.#inFlight = true;
    const finish = (): void => {
      this.#inFlight = false;
      done?.();
    };
    this.#host.core.register(request, {
      onAccept: (response) => {
        finish();
        if (expiresSec === 0 || this.#stopped) return;
        this.#failures = 0;
        const granted = this.#grantedExpiresSec(response.message) ?? expiresSec;
        // Refresh ahead of expiry: at 90 %, and at least 5 s early on short bindings.
        const refreshMs = Math.max(1000, Math.min(granted * 900, (granted - 5) * 1000));
        this.#set('registered', { expiresSec: granted, nextAttemptAtMs: Date.now() + refreshMs });
        this.#schedule(refreshMs);
      },
      onReject: (response) => {
        finish();
        if (expiresSec === 0 || this.#stopped) return;
        const status = response.message.statusCode ?? 0;
        const minExpires = Number(response.message.getHeader('min-expires'));
        if (status === 423 && minExpires > 0 && this.#failures < 3) {
          // §10.2.8: Interval Too Brief, retry at once with the registrar's minimum.
          this.#failures++;
          this.#requestedExpiresSec = minExpires;
          this.#send(minExpires);
          return;
        }
        this.#fail(`${status} ${response.message.reasonPhrase ?? ''}`.trim());
      },
      onRedirect: (response) => {
        finish();
        if (!this.#stopped && expiresSec > 0)
          this.#fail(`${response.message.statusCode} redirect not followed`);
      },
    });
  }

  #fail(lastError: string): void {
    const delayMs = Math.min(
      this.#timing.maxRetryMs,
      this.#timing.retryBaseMs * 2 ** Math.min(this.#failures, 16),
    );
    this.#failures++;
    this.#set('failed', { lastError, nextAttemptAtMs: Date.now() + delayMs });
    this.#schedule(delayMs);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#stopped) this.#send(this.#requestedExpiresSec);
    }, delayMs);
    this.#timer.unref();
  }

  /** §10.2.4: the expires parameter of our Contact in the 200, else the Expires header. */
  #grantedExpiresSec(message: Core.IncomingResponseMessage): number | undefined {
    const ours = new Set(
      (['udp', 'tcp', 'tls'] as const).map(
        (t) => `${uriHost(this.#host.advertisedAddress)}:${this.#host.contactPort(t) ?? ''}`,
      ),
    );
    for (let i = 0; i < message.getHeaders('contact').length; i++) {
      const contact = message.parseHeader('contact', i) as
        { uri?: URI; getParam(n: string): unknown } | undefined;
      const hostPort = contact?.uri ? `${contact.uri.host}:${contact.uri.port ?? ''}` : '';
      if (contact !== undefined && ours.has(hostPort) && contact.uri?.user === this.#aor.user) {
        const expires = Number(contact.getParam('expires'));
        if (Number.isFinite(expires) && expires > 0) return expires;
      }
    }
    const header = Number(message.getHeader('expires'));
    return Number.isFinite(header) && header > 0 ? header : undefined;
  }

  #set(status: RegistrationStatus, extra: Partial<RegistrationState>): void {
    this.#state = { aor: this.account.aor, registrar: this.account.registrar, status, ...extra };
    this.#onChange(this.#state);
  }
}

/**
 * sip.js asks one factory for credentials, without saying for which request; this chooser
 * picks the account by the request's From AOR when the challenge arrives.
 */
export class AccountCredentials {
  stale: boolean | undefined;
  #inner: Core.DigestAuthentication | undefined;
  readonly #accounts: ReadonlyMap<string, RegistrationAccount>;
  readonly #loggerFactory: Core.LoggerFactory;

  constructor(accounts: ReadonlyMap<string, RegistrationAccount>, loggerFactory: Core.LoggerFactory) {
    this.#accounts = accounts;
    this.#loggerFactory = loggerFactory;
  }

  authenticate(request: Core.OutgoingRequestMessage, challenge: unknown, body?: string): boolean {
    const from = request.from.uri;
    const account = this.#accounts.get(`${from.user ?? ''}@${from.host}`.toLowerCase());
    if (account === undefined || account.password === undefined) return false;
    this.#inner ??= new Core.DigestAuthentication(
      this.#loggerFactory,
      undefined,
      account.username ?? from.user,
      account.password,
    );
    const ok = this.#inner.authenticate(request, challenge, body);
    this.stale = this.#inner.stale;
    return ok;
  }

  toString(): string {
    return this.#inner?.toString() ?? '';
  }
}

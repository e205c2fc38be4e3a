// One registration account through drachtio-server (Srf#request REGISTER; drachtio-srf answers
// the digest challenge with `auth`). drachtio-srf has no refresh helper, so the embedded
// backend's behaviour is rebuilt here: refresh at 90 % of the granted time, retry with doubling
// backoff after a failure, un-REGISTER (Expires: 0) on stop.
import { ignore } from '../../observability/ignored-errors.js';
import type { Logger } from '../../observability/logger.js';
import type { RegistrationState } from '../signaling-backend.js';
import type { Srf, SrfResponseMessage } from './drachtio-srf-api.js';

export interface DrachtioRegistrationAccount {
  readonly aor: string;
  readonly registrar: string;
  readonly username?: string;
  readonly password?: string;
  readonly expiresSec: number;
}

const RESPONSE_WAIT_MS = 32_000;

export class DrachtioRegistration {
  readonly account: DrachtioRegistrationAccount;
  #state: RegistrationState;
  readonly #srf: Srf;
  readonly #onChange: (state: RegistrationState) => void;
  readonly #log: Logger;
  readonly #retry: { baseMs: number; maxMs: number };
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;

  constructor(
    account: DrachtioRegistrationAccount,
    srf: Srf,
    onChange: (state: RegistrationState) => void,
    log: Logger,
    retry = { baseMs: 2000, maxMs: 300_000 },
  ) {
    this.account = account;
    this.#srf = srf;
    this.#onChange = onChange;
    this.#log = log;
    this.#retry = retry;
    this.#state = { aor: account.aor, registrar: account.registrar, status: 'unregistered' };
  }

  get state(): RegistrationState {
    return this.#state;
  }

  start(): void {
    this.#stopped = false;
    void this.#register();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.#state.status !== 'registered') {
      this.#set({ status: 'unregistered' });
      return;
    }
    await this.#send(0).catch(ignore('drachtio-registration.unregister'));
    this.#set({ status: 'unregistered' });
  }

  async #register(): Promise<void> {
    if (this.#stopped) return;
    this.#set({ status: 'registering' });
    try {
      const res = await this.#send(this.account.expiresSec);
      if (this.#stopped) return;
      if (res.status >= 200 && res.status < 300) {
        const granted = grantedSeconds(res) ?? this.account.expiresSec;
        this.#failures = 0;
        const refreshMs = Math.max(5, granted * 0.9) * 1000;
        this.#set({ status: 'registered', expiresSec: granted, nextAttemptAtMs: Date.now() + refreshMs });
        this.#schedule(refreshMs);
      } else {
        this.#fail(`${res.status} ${res.reason}`);
      }
    } catch (err) {
      this.#fail((err as Error).message);
    }
  }

  #fail(reason: string): void {
    if (this.#stopped) return;
    const delayMs = Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** this.#failures++);
    if (this.#failures === 1)
      this.#log.warn({ aor: this.account.aor, reason }, 'registration failed; retrying with backoff');
    this.#set({ status: 'failed', lastError: reason, nextAttemptAtMs: Date.now() + delayMs });
    this.#schedule(delayMs);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#register(), ms);
    this.#timer.unref();
  }

  #send(expiresSec: number): Promise<SrfResponseMessage> {
    const user = /^sips?:([^@;]+)@/i.exec(this.account.aor)?.[1] ?? 'grok-sip';
    const username = this.account.username ?? user;
    return new Promise<SrfResponseMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response to REGISTER')), RESPONSE_WAIT_MS);
      this.#srf
        .request(this.account.registrar, {
          method: 'REGISTER',
          headers: {
            From: `<${this.account.aor}>`,
            To: `<${this.account.aor}>`,
            // drachtio-server puts its own SIP address in place of "localhost".
            Contact: `<sip:${user}@localhost>`,
            Expires: String(expiresSec),
          },
          ...(this.account.password !== undefined && { auth: { username, password: this.account.password } }),
        })
        .then(
          (req) =>
            req.on('response', (res) => {
              if (res.status < 200) return;
              clearTimeout(timer);
              resolve(res);
            }),
          (err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
    });
  }

  #set(update: Omit<RegistrationState, 'aor' | 'registrar'>): void {
    this.#state = { aor: this.account.aor, registrar: this.account.registrar, ...update };
    this.#onChange(this.#state);
  }
}

/** Expires granted: the Contact's expires parameter, else the Expires header (RFC 3261 §10.3). */
function grantedSeconds(res: SrfResponseMessage): number | undefined {
  const fromContact = /;\s*expires=(\d+)/i.exec(res.get('Contact') ?? '')?.[1];
  const value = Number(fromContact ?? res.get('Expires'));
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

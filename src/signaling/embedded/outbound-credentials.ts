// Digest credentials for one call we place (RFC 3261 §22.2/§22.3): sip.js asks its core for one
// credentials object per request that got a 401/407 and retries once. The core has a single
// factory (the backend's, keyed by registration account), so this wraps it: a request whose
// Call-ID has call credentials answers with those, any other falls through to the backend's.
import { Core, type UserAgent } from 'sip.js';

export interface OutboundCredentials {
  readonly username: string;
  readonly password: string;
}

type Authenticator = Core.DigestAuthentication | undefined;

const perUa = new WeakMap<UserAgent, Map<string, OutboundCredentials>>();

/** Makes requests with this Call-ID answer challenges with `credentials`; returns the undo. */
export function useCallCredentials(
  ua: UserAgent,
  callId: string,
  credentials: OutboundCredentials,
): () => void {
  if (credentials.username === '' || credentials.password === '') {
    throw new TypeError('digest credentials need a non-empty username and password');
  }
  let byCallId = perUa.get(ua);
  if (byCallId === undefined) {
    byCallId = new Map();
    perUa.set(ua, byCallId);
    const configuration = ua.userAgentCore.configuration;
    const fallback = configuration.authenticationFactory.bind(configuration);
    const loggerFactory = ua.getLoggerFactory();
    const calls = byCallId;
    configuration.authenticationFactory = () =>
      new CallCredentials(calls, fallback, loggerFactory) as unknown as Core.DigestAuthentication;
  }
  byCallId.set(callId, credentials);
  const calls = byCallId;
  return () => void calls.delete(callId);
}

/** Duck-typed Core.DigestAuthentication: the parts sip.js's UserAgentClient uses. */
class CallCredentials {
  stale: boolean | undefined;
  #inner: Authenticator | undefined;
  readonly #calls: ReadonlyMap<string, OutboundCredentials>;
  readonly #fallback: () => Authenticator;
  readonly #loggerFactory: Core.LoggerFactory;

  constructor(
    calls: ReadonlyMap<string, OutboundCredentials>,
    fallback: () => Authenticator,
    loggerFactory: Core.LoggerFactory,
  ) {
    this.#calls = calls;
    this.#fallback = fallback;
    this.#loggerFactory = loggerFactory;
  }

  authenticate(request: Core.OutgoingRequestMessage, challenge: unknown, body?: string): boolean {
    if (this.#inner === undefined) {
      const own = this.#calls.get(request.callId);
      this.#inner =
        own !== undefined
          ? new Core.DigestAuthentication(this.#loggerFactory, undefined, own.username, own.password)
          : this.#fallback();
    }
    if (this.#inner === undefined) return false;
    const ok = this.#inner.authenticate(request, challenge, body);
    this.stale = this.#inner.stale;
    return ok;
  }

  toString(): string {
    return this.#inner?.toString() ?? '';
  }
}

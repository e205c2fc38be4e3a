// Server side of HTTP Digest for SIP (RFC 3261 §22.4 over RFC 2617 / RFC 7616, MD5, qop=auth).
// Nonces are stateless: `<issued-at ms, hex>.<HMAC-SHA256(secret, issued-at, realm, source)>`, so any
// process holding the secret can check one, and an old one is answered with stale=true
// (RFC 2617 §3.2.1) instead of a fresh password prompt. Replays of a captured Authorization
// within the nonce lifetime are not detected (that needs per-nonce nc state); binding the nonce
// to the source address narrows them to the same host.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface DigestUser {
  readonly username: string;
  readonly password: string;
}

export interface DigestServerOptions {
  readonly realm: string;
  /** HMAC key for nonces; at least 16 bytes. A random per-process key is fine. */
  readonly secret: Uint8Array;
  /** How long a nonce is accepted (default 300 s, as Kamailio's auth `nonce_expire`). */
  readonly nonceTtlSec?: number;
}

export interface DigestRequest {
  readonly method: string;
  /** The Request-URI as sent; must equal the `uri` directive (RFC 2617 §3.2.2.5). */
  readonly uri: string;
  /** The `Authorization` header value, if any. */
  readonly authorization?: string;
  /** Binds the nonce to the sender's address. */
  readonly sourceAddress?: string;
  readonly nowMs?: number;
}

export type DigestVerdict =
  | { readonly result: 'accept'; readonly username: string }
  | {
      readonly result: 'challenge';
      /** Value for `WWW-Authenticate` on a 401. */
      readonly wwwAuthenticate: string;
      /** Why, for the log (never sent). */
      readonly reason:
        'no-credentials' | 'malformed' | 'unknown-user' | 'bad-response' | 'stale-nonce' | 'bad-nonce';
    };

const DEFAULT_NONCE_TTL_SEC = 300;
/** Clock skew tolerated between processes sharing a secret. */
const FUTURE_SKEW_MS = 5_000;
const MAX_HEADER_CHARS = 4096;

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/**
 * The `response` directive (RFC 2617 §3.2.2.1, MD5): with qop=auth
 * MD5(HA1:nonce:nc:cnonce:qop:HA2), without qop (RFC 2069) MD5(HA1:nonce:HA2).
 */
export function digestResponse(p: {
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  qop?: 'auth';
  nc?: string;
  cnonce?: string;
}): string {
  const ha1 = md5(`${p.username}:${p.realm}:${p.password}`);
  const ha2 = md5(`${p.method}:${p.uri}`);
  if (p.qop === undefined) return md5(`${ha1}:${p.nonce}:${ha2}`);
  return md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`);
}

/** Parses `Digest k=v, k="v", ...` into lower-cased keys; null if it is not a Digest header. */
export function parseDigestHeader(value: string): Map<string, string> | null {
  if (typeof value !== 'string' || value.length > MAX_HEADER_CHARS) return null;
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (m === null) return null;
  const params = new Map<string, string>();
  const param = /\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/gy;
  const rest = m[1]!;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = param.exec(rest)) !== null) {
    const key = match[1]!.toLowerCase();
    if (params.has(key)) return null;
    params.set(key, match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!);
    consumed = param.lastIndex;
    if (consumed === rest.length) break;
  }
  return consumed === rest.length && params.size > 0 ? params : null;
}

export class DigestServer {
  readonly #realm: string;
  readonly #secret: Uint8Array;
  readonly #ttlMs: number;
  readonly #users: ReadonlyMap<string, string>;

  constructor(options: DigestServerOptions, users: readonly DigestUser[]) {
    if (!options.realm || /["\\\r\n]/.test(options.realm)) {
      throw new TypeError(
        `digest realm ${JSON.stringify(options.realm)} must be non-empty without quotes or newlines`,
      );
    }
    if (!(options.secret instanceof Uint8Array) || options.secret.length < 16) {
      throw new TypeError('digest nonce secret must be at least 16 bytes');
    }
    const ttlSec = options.nonceTtlSec ?? DEFAULT_NONCE_TTL_SEC;
    if (!Number.isFinite(ttlSec) || ttlSec <= 0) throw new RangeError(`nonceTtlSec ${ttlSec} must be > 0`);
    this.#realm = options.realm;
    this.#secret = options.secret;
    this.#ttlMs = ttlSec * 1000;
    this.#users = new Map(users.map((u) => [u.username, u.password]));
  }

  get realm(): string {
    return this.#realm;
  }

  /** A `WWW-Authenticate` value with a fresh nonce. */
  challenge(sourceAddress = '', nowMs = Date.now(), stale = false): string {
    const nonce = this.#nonce(Math.floor(nowMs), sourceAddress);
    return (
      `Digest realm="${this.#realm}", nonce="${nonce}", qop="auth", algorithm=MD5` +
      (stale ? ', stale=true' : '')
    );
  }

  /** Checks a request's Authorization header; any failure yields a new challenge. */
  verify(req: DigestRequest): DigestVerdict {
    const nowMs = req.nowMs ?? Date.now();
    const source = req.sourceAddress ?? '';
    const challenge = (reason: Exclude<DigestVerdict, { result: 'accept' }>['reason']): DigestVerdict => ({
      result: 'challenge',
      wwwAuthenticate: this.challenge(source, nowMs, reason === 'stale-nonce'),
      reason,
    });
    if (req.authorization === undefined || req.authorization === '') return challenge('no-credentials');
    const p = parseDigestHeader(req.authorization);
    if (p === null) return challenge('malformed');
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    const qop = p.get('qop');
    const algorithm = p.get('algorithm') ?? 'MD5';
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return challenge('malformed');
    }
    if (p.get('realm') !== this.#realm || algorithm.toUpperCase() !== 'MD5') return challenge('malformed');
    if (
      qop !== undefined &&
      (qop !== 'auth' || !/^[0-9a-fA-F]{8}$/.test(p.get('nc') ?? '') || !p.get('cnonce'))
    ) {
      return challenge('malformed');
    }
    if (uri.toLowerCase() !== req.uri.toLowerCase()) return challenge('malformed');

    const nonceState = this.#checkNonce(nonce, source, nowMs);
    if (nonceState === 'bad') return challenge('bad-nonce');
    const password = this.#users.get(username);
    if (password === undefined) return challenge('unknown-user');
    const expected = digestResponse({
      username,
      realm: this.#realm,
      password,
      method: req.method,
      uri,
      nonce,
      ...(qop === 'auth' && { qop, nc: p.get('nc')!, cnonce: p.get('cnonce')! }),
    });
    if (!sameText(expected, response.toLowerCase())) return challenge('bad-response');
    // Right password on an old nonce: ask again without prompting the user (RFC 2617 §3.2.1 stale).
    if (nonceState === 'expired') return challenge('stale-nonce');
    return { result: 'accept', username };
  }

  #nonce(issuedAtMs: number, source: string): string {
    const ts = issuedAtMs.toString(16);
    return `${ts}.${this.#mac(ts, source)}`;
  }

  #mac(ts: string, source: string): string {
    return createHmac('sha256', this.#secret)
      .update(`${ts}:${this.#realm}:${source}`)
      .digest('base64url')
      .slice(0, 32);
  }

  #checkNonce(nonce: string, source: string, nowMs: number): 'fresh' | 'expired' | 'bad' {
    const m = /^([0-9a-f]{1,12})\.([A-Za-z0-9_-]{32})$/.exec(nonce);
    if (m === null) return 'bad';
    if (!sameText(this.#mac(m[1]!, source), m[2]!)) return 'bad';
    const issuedAtMs = parseInt(m[1]!, 16);
    if (issuedAtMs > nowMs + FUTURE_SKEW_MS) return 'bad';
    return nowMs - issuedAtMs > this.#ttlMs ? 'expired' : 'fresh';
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

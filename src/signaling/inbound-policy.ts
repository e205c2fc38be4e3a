// Who may send us requests: a trunk allow-list by CIDR, then an optional digest challenge on
// INVITE. Pure decisions over plain values, used by both signaling backends before a request
// reaches the call layer. Unknown sources are dropped silently by default: answering scanners
// (403) only confirms a SIP endpoint lives here.
import { BlockList, isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DigestServer, type DigestUser } from './digest-auth.js';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Throws TypeError. */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string') throw new TypeError(`CIDR must be a string, got ${typeof text}`);
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined)
    throw new TypeError(`${JSON.stringify(text)} is not an IP address or CIDR`);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) {
    throw new TypeError(`${JSON.stringify(text)} has a bad prefix length (IPv${version}: 0–${max})`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export interface InboundPolicyOptions {
  /** CIDRs allowed to send requests; empty means anyone. */
  readonly allow: readonly string[];
  readonly onReject: 'drop' | '403';
  readonly digest?: {
    readonly realm: string;
    readonly users: readonly DigestUser[];
    /** Methods that must authenticate (default INVITE; ACK and CANCEL cannot, RFC 3261 §22.1). */
    readonly methods?: readonly string[];
    readonly nonceTtlSec?: number;
    /** Nonce HMAC key; random per process if absent (a restart just re-challenges). */
    readonly secret?: Uint8Array;
  };
}

export interface InboundRequest {
  readonly sourceAddress: string;
  readonly method: string;
  /** The Request-URI as sent. */
  readonly uri: string;
  /** `Authorization` header value, if present. */
  readonly authorization?: string;
  readonly nowMs?: number;
}

export type InboundDecision =
  | 'accept'
  | 'drop'
  | { readonly status: 403 }
  | { readonly status: 401; readonly wwwAuthenticate: string; readonly reason: string };

export class InboundPolicy {
  readonly #allow: BlockList | null;
  readonly #onReject: 'drop' | '403';
  readonly #digest: DigestServer | null;
  readonly #digestMethods: ReadonlySet<string>;

  constructor(options: InboundPolicyOptions) {
    if (options.allow.length === 0) {
      this.#allow = null;
    } else {
      this.#allow = new BlockList();
      for (const text of options.allow) {
        const { address, prefix, family } = parseCidr(text);
        this.#allow.addSubnet(address, prefix, family);
      }
    }
    this.#onReject = options.onReject;
    const digest = options.digest;
    this.#digest = digest
      ? new DigestServer(
          {
            realm: digest.realm,
            secret: digest.secret ?? randomBytes(32),
            ...(digest.nonceTtlSec !== undefined && { nonceTtlSec: digest.nonceTtlSec }),
          },
          digest.users,
        )
      : null;
    this.#digestMethods = new Set((digest?.methods ?? ['INVITE']).map((m) => m.toUpperCase()));
  }

  /** Whether a source address is on the allow-list (IPv4-mapped IPv6 counts as IPv4). */
  allows(sourceAddress: string): boolean {
    if (this.#allow === null) return true;
    const address = unmapIPv4(sourceAddress);
    const version = isIP(address);
    if (version === 0) return false;
    return this.#allow.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }

  decide(req: InboundRequest): InboundDecision {
    if (!this.allows(req.sourceAddress)) return this.#onReject === 'drop' ? 'drop' : { status: 403 };
    if (this.#digest === null || !this.#digestMethods.has(req.method.toUpperCase())) return 'accept';
    const verdict = this.#digest.verify({
      method: req.method,
      uri: req.uri,
      sourceAddress: unmapIPv4(req.sourceAddress),
      ...(req.authorization !== undefined && { authorization: req.authorization }),
      ...(req.nowMs !== undefined && { nowMs: req.nowMs }),
    });
    if (verdict.result === 'accept') return 'accept';
    return { status: 401, wwwAuthenticate: verdict.wwwAuthenticate, reason: verdict.reason };
  }
}

/** Dual-stack sockets report IPv4 peers as `::ffff:a.b.c.d`. */
function unmapIPv4(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

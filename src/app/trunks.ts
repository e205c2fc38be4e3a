// Trunks resolved from the config (trunks-schema.ts): where an outbound call's INVITE goes, with
// which From and credentials, and whether the trunk takes another call now (maxCalls and a token
// bucket of maxCallsPerSec). A trunk that names a registration borrows its registrar, credentials
// and AOR.
import type { GrokSipConfig } from '../config/load-config.js';
import type { TrunkInvite } from '../call/outbound-call-session.js';
import { uriUser } from '../signaling/sip-uri.js';

export interface Trunk {
  readonly name: string;
  /** sip:host[:port] the INVITE is sent to (transport parameter included). */
  readonly proxy: string;
  readonly transport?: 'udp' | 'tcp' | 'tls';
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly fromUser?: string;
  readonly fromDomain?: string;
  readonly maxCalls: number;
  readonly maxCallsPerSec: number;
  readonly ringTimeoutSec: number;
}

export class TrunkConfigError extends Error {}

/** A dialable user part: digits, +, * and #, letters and -_. (a number, an extension, a SIP user). */
const DIALABLE = /^[A-Za-z0-9+*#._-]{1,64}$/;

export function isDialable(to: string): boolean {
  return DIALABLE.test(to) || /^sips?:[^\s<>"]+$/i.test(to);
}

export function resolveTrunks(config: GrokSipConfig): Map<string, Trunk> {
  const trunks = new Map<string, Trunk>();
  for (const t of config.trunks) {
    let proxy = t.proxy;
    let credentials =
      t.username !== undefined && t.password !== undefined
        ? { username: t.username, password: t.password }
        : undefined;
    let fromUser = t.fromUser;
    let fromDomain = t.fromDomain;
    if (t.registration !== undefined) {
      const reg = config.sip.registrations.find((r) => r.aor === t.registration);
      if (reg === undefined) {
        throw new TrunkConfigError(
          `trunks.${t.name}.registration: ${t.registration} is not in sip.registrations`,
        );
      }
      proxy = reg.registrar;
      const aorUser = uriUser(reg.aor) ?? undefined;
      const username = reg.username ?? aorUser;
      credentials ??=
        username !== undefined && reg.password !== undefined
          ? { username, password: reg.password }
          : undefined;
      fromUser ??= aorUser;
      fromDomain ??= /^sips?:(?:[^@]*@)?([^:;>]+)/i.exec(reg.aor)?.[1];
    }
    trunks.set(t.name, {
      name: t.name,
      proxy: proxy!,
      ...(t.transport !== undefined && { transport: t.transport }),
      ...(credentials !== undefined && { credentials }),
      ...(fromUser !== undefined && { fromUser }),
      ...(fromDomain !== undefined && { fromDomain }),
      maxCalls: t.maxCalls,
      maxCallsPerSec: t.maxCallsPerSec,
      ringTimeoutSec: t.ringTimeoutSec,
    });
  }
  return trunks;
}

/**
 * Request-URI and INVITE settings for a call to `to` through `trunk`: a number becomes the user
 * at the trunk's host (`sip:+15551234@carrier:5060`); a SIP URI is called as is with the trunk
 * as its outbound proxy (a preloaded Route).
 */
export function trunkInvite(
  trunk: Trunk,
  to: string,
  options: { fromUser?: string; ringTimeoutSec?: number } = {},
): { target: string; invite: TrunkInvite } {
  const proxy = /^(sips?):([^;?]+)(.*)$/i.exec(trunk.proxy);
  if (proxy === null)
    throw new TrunkConfigError(`trunk ${trunk.name}: proxy ${trunk.proxy} is not a SIP URI`);
  const [, scheme, hostPort, params] = proxy as unknown as [string, string, string, string];
  const hostOnly = hostPort.includes('@') ? hostPort.slice(hostPort.indexOf('@') + 1) : hostPort;
  const transportParam =
    trunk.transport !== undefined && !/;transport=/i.test(params) ? `;transport=${trunk.transport}` : '';
  const proxyUri = `${scheme}:${hostOnly}${params}${transportParam}`;
  const timeoutSec = Math.min(options.ringTimeoutSec ?? trunk.ringTimeoutSec, trunk.ringTimeoutSec);
  const fromUser = options.fromUser ?? trunk.fromUser;
  const invite: TrunkInvite = {
    timeoutMs: timeoutSec * 1000,
    ...(fromUser !== undefined && { fromUser }),
    ...(trunk.fromDomain !== undefined && { fromDomain: trunk.fromDomain }),
    ...(trunk.credentials !== undefined && { credentials: trunk.credentials }),
  };
  if (/^sips?:/i.test(to)) return { target: to, invite: { ...invite, route: proxyUri } };
  return { target: `${scheme}:${to}@${hostOnly}${params}${transportParam}`, invite };
}

/** maxCalls at once and maxCallsPerSec as a token bucket (burst = the rate), per trunk. */
export class TrunkLimits {
  readonly #active = new Map<string, number>();
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  /** null when the trunk takes the call (counted until release), else why not. */
  admit(trunk: Trunk, nowMs: number): 'max-calls' | 'rate' | null {
    const active = this.#active.get(trunk.name) ?? 0;
    if (active >= trunk.maxCalls) return 'max-calls';
    const bucket = this.#buckets.get(trunk.name) ?? { tokens: trunk.maxCallsPerSec, atMs: nowMs };
    bucket.tokens = Math.min(
      trunk.maxCallsPerSec,
      bucket.tokens + ((nowMs - bucket.atMs) / 1000) * trunk.maxCallsPerSec,
    );
    bucket.atMs = nowMs;
    this.#buckets.set(trunk.name, bucket);
    if (bucket.tokens < 1) return 'rate';
    bucket.tokens -= 1;
    this.#active.set(trunk.name, active + 1);
    return null;
  }

  release(trunk: string): void {
    this.#active.set(trunk, Math.max(0, (this.#active.get(trunk) ?? 0) - 1));
  }

  active(trunk: string): number {
    return this.#active.get(trunk) ?? 0;
  }
}

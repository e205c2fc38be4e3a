// Where a message we send goes (RFC 3261 §18): a response back along the top Via, a request to
// the first Route entry (loose routing, §16.12) else the Request-URI, `maddr` first. Hostnames
// are resolved with A lookups only (no NAPTR/SRV of RFC 3263).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Grammar } from 'sip.js';
import type { SipTransportName } from '../signaling-backend.js';
import type { ViaValue } from './sip-message-text.js';

export interface NextHop {
  readonly host: string;
  readonly port: number;
  readonly transport: SipTransportName;
}

const DEFAULT_SIP_PORT = 5060;
const DNS_CACHE_MS = 60_000;

/** §18.2.2 with RFC 3581 §4: `received` and `rport` take precedence over the sent-by. */
export function responseHop(via: ViaValue): NextHop {
  const received = via.params.get('received');
  const rport = Number(via.params.get('rport'));
  return {
    host: stripBrackets(received !== undefined && received !== '' ? received : via.host),
    port: Number.isInteger(rport) && rport > 0 ? rport : (via.port ?? DEFAULT_SIP_PORT),
    transport: via.protocol === 'TCP' ? 'tcp' : 'udp',
  };
}

/** The URI that decides the next hop of a request: first Route entry, else the Request-URI. */
export function requestHop(
  requestUri: string,
  routeHeader: string | undefined,
  fallback: SipTransportName,
): NextHop {
  const first = routeHeader === undefined ? undefined : /<([^>]+)>/.exec(routeHeader)?.[1];
  const target = first ?? requestUri;
  const uri = Grammar.URIParse(target);
  if (uri === undefined) throw new TypeError(`cannot route to ${JSON.stringify(target)}: not a SIP URI`);
  const transportParam = String(uri.getParam('transport') ?? '').toLowerCase();
  const maddr = uri.getParam('maddr');
  return {
    host: stripBrackets(typeof maddr === 'string' && maddr !== '' ? maddr : uri.host),
    port: uri.port ?? DEFAULT_SIP_PORT,
    transport: transportParam === 'tcp' ? 'tcp' : transportParam === 'udp' ? 'udp' : fallback,
  };
}

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}

/** A records with a short cache; IP literals pass through. */
export class HostResolver {
  readonly #cache = new Map<string, { address: string; untilMs: number }>();

  async resolve(host: string): Promise<string> {
    if (isIP(host) !== 0) return host;
    const hit = this.#cache.get(host);
    if (hit !== undefined && hit.untilMs > Date.now()) return hit.address;
    const { address } = await lookup(host, { family: 4 });
    this.#cache.set(host, { address, untilMs: Date.now() + DNS_CACHE_MS });
    return address;
  }
}

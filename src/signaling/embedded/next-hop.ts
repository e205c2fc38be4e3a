// Where a message we send goes (RFC 3261 §18): a response back along the top Via, a request to
// the first Route entry (loose routing, §16.12) else the Request-URI, `maddr` first. Hostnames
// are resolved with A lookups only (no NAPTR/SRV of RFC 3263). A `sips:` URI or `;transport=tls`
// means TLS (§26.2.2, §19.1.2), on port 5061 unless the URI names one (§19.1.2, RFC 3263 §4.2).
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

export interface RequestHop extends NextHop {
  /** The Request-URI or the first Route is `sips:` (our Contact must then be sips: too, §8.1.1.8). */
  readonly sips: boolean;
}

const DEFAULT_SIP_PORT = 5060;
const DEFAULT_SIPS_PORT = 5061;
const DNS_CACHE_MS = 60_000;

/** §18.2.2 with RFC 3581 §4: `received` and `rport` take precedence over the sent-by. */
export function responseHop(via: ViaValue): NextHop {
  const received = via.params.get('received');
  const rport = Number(via.params.get('rport'));
  const transport = via.protocol === 'TCP' ? 'tcp' : via.protocol === 'TLS' ? 'tls' : 'udp';
  return {
    host: stripBrackets(received !== undefined && received !== '' ? received : via.host),
    port:
      Number.isInteger(rport) && rport > 0
        ? rport
        : (via.port ?? (transport === 'tls' ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT)),
    transport,
  };
}

/** The URI that decides the next hop of a request: first Route entry, else the Request-URI. */
export function requestHop(
  requestUri: string,
  routeHeader: string | undefined,
  fallback: SipTransportName,
): RequestHop {
  const first = routeHeader === undefined ? undefined : /<([^>]+)>/.exec(routeHeader)?.[1];
  const target = first ?? requestUri;
  const uri = Grammar.URIParse(target);
  if (uri === undefined) throw new TypeError(`cannot route to ${JSON.stringify(target)}: not a SIP URI`);
  const transportParam = String(uri.getParam('transport') ?? '').toLowerCase();
  const maddr = uri.getParam('maddr');
  // A sips: Request-URI asks for TLS on every hop (§26.2.2), through a sip: Route too, unless
  // that Route names a transport of its own.
  const sips = uri.scheme === 'sips' || /^sips:/i.test(requestUri);
  const transport: SipTransportName =
    uri.scheme === 'sips' || transportParam === 'tls' || (sips && transportParam === '')
      ? 'tls'
      : transportParam === 'tcp'
        ? 'tcp'
        : transportParam === 'udp'
          ? 'udp'
          : fallback;
  return {
    host: stripBrackets(typeof maddr === 'string' && maddr !== '' ? maddr : uri.host),
    port: uri.port ?? (transport === 'tls' ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT),
    transport,
    sips,
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

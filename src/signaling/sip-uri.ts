// The user part of a SIP URI, the one way both backends read it (RFC 3261 §19.1.1, §19.1.6):
// unescaped, without user parameters, and never a throw — a bad percent-escape (`%C3%28`, not
// UTF-8) makes the URI unreadable, which the backends answer 400 (hasBadEscape).
import { isIPv6 } from 'node:net';

/**
 * The dialled user: the Request-URI user, else the To URI user (an INVITE to `sip:host`
 * routed on To). Accepts a bare URI or a name-addr header value (`"A" <sip:4000@h>;tag=x`).
 */
export function dialledUser(requestUri: string, to?: string): string | null {
  return uriUser(requestUri) ?? (to === undefined ? null : uriUser(to));
}

/** User part of a sip:/sips:/tel: URI, unescaped, without user parameters (RFC 3261 19.1.1, 19.1.6). */
export function uriUser(text: string): string | null {
  if (typeof text !== 'string') return null;
  const inBrackets = /<([^>]*)>/.exec(text);
  const uri = (inBrackets ? inBrackets[1]! : text).trim();
  let user: string;
  const tel = /^tel:([^;?]+)/i.exec(uri);
  if (tel) {
    user = tel[1]!;
  } else {
    const sip = /^sips?:([^@;?]*)@/i.exec(uri) ?? /^sips?:([^@?]*?);[^@]*@/i.exec(uri);
    if (sip === null) return null;
    // `sip:+1415...;phone-context=x@host`: the user ends at ';' (user parameters) or ':' (password).
    user = sip[1]!.split(';')[0]!.split(':')[0]!;
  }
  try {
    user = decodeURIComponent(user);
  } catch {
    return null;
  }
  return user === '' ? null : user;
}

/** A `%`-escape in the URI's user part that does not decode (bad hex, or bytes that are not UTF-8). */
export function hasBadEscape(text: string): boolean {
  const inBrackets = /<([^>]*)>/.exec(text);
  const uri = (inBrackets ? inBrackets[1]! : text).trim();
  const user = /^(?:sips?|tel):([^@;?]*)/i.exec(uri)?.[1];
  if (user === undefined || !user.includes('%')) return false;
  try {
    decodeURIComponent(user);
    return false;
  } catch {
    return true;
  }
}

/** A host as a SIP URI or Via writes it: an IPv6 literal in brackets (RFC 3261 §25.1 `IPv6reference`). */
export function uriHost(address: string): string {
  return isIPv6(address) ? `[${address}]` : address;
}

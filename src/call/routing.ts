// Dialled user → agent profile. Exact routes first, then patterns (prefix `4*`, `*`, `/regex/`)
// in config order, then the default profile; null means no agent for this number (answer 404).
import type { AgentProfile } from './agent-profile.js';

export interface RouteRule {
  /** `4000` exact, `4*` prefix, `*` anything, `/^4\d{3}$/` regular expression. */
  readonly match: string;
  /** Profile name. */
  readonly agent: string;
}

export interface RoutingTable {
  readonly default?: string;
  readonly profiles: readonly AgentProfile[];
  readonly routes: readonly RouteRule[];
}

/** Longer users are not phone numbers or extensions; do not run patterns over them. */
const MAX_USER_CHARS = 256;

type Pattern = { readonly test: (user: string) => boolean; readonly profile: AgentProfile };

export class AgentRouter {
  readonly #exact = new Map<string, AgentProfile>();
  readonly #patterns: Pattern[] = [];
  readonly #default: AgentProfile | null;

  /** Throws TypeError for a route or default naming no profile, or a bad regex. */
  constructor(table: RoutingTable) {
    const byName = new Map(table.profiles.map((p) => [p.name, p]));
    const profile = (name: string): AgentProfile => {
      const found = byName.get(name);
      if (found === undefined) throw new TypeError(`route target "${name}" is not an agent profile`);
      return found;
    };
    for (const rule of table.routes) {
      const target = profile(rule.agent);
      const m = rule.match;
      if (m.length > 2 && m.startsWith('/') && m.endsWith('/')) {
        const re = new RegExp(m.slice(1, -1));
        this.#patterns.push({ test: (user) => re.test(user), profile: target });
      } else if (m.endsWith('*')) {
        const prefix = m.slice(0, -1);
        this.#patterns.push({ test: (user) => user.startsWith(prefix), profile: target });
      } else if (!this.#exact.has(m)) {
        // First exact rule for a user wins, as in config order.
        this.#exact.set(m, target);
      }
    }
    this.#default = table.default === undefined ? null : profile(table.default);
  }

  /** The profile for a call to `user` (see dialledUser); null → 404. */
  route(user: string | null): AgentProfile | null {
    if (user !== null && user !== '' && user.length <= MAX_USER_CHARS) {
      const exact = this.#exact.get(user);
      if (exact !== undefined) return exact;
      for (const pattern of this.#patterns) if (pattern.test(user)) return pattern.profile;
    }
    return this.#default;
  }
}

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

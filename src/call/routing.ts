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
  readonly #byName: ReadonlyMap<string, AgentProfile>;

  /** Throws TypeError for a route or default naming no profile, or a bad regex. */
  constructor(table: RoutingTable) {
    const byName = new Map(table.profiles.map((p) => [p.name, p]));
    this.#byName = byName;
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

  /** The profile called `name` (a carrier stream names the one its answer webhook chose). */
  byName(name: string): AgentProfile | null {
    return this.#byName.get(name) ?? null;
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

export { dialledUser, uriUser } from '../signaling/sip-uri.js';

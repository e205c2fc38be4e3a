// Placing a call (issue 18): a request names a trunk, an agent profile and the number or URI to
// call; it is checked field by field (PlaceCallError names the field, the REST API turns it into
// problem+json), admitted by the trunk's limits, and run as an OutboundCallSession on the main
// thread with SIP (its media and agent too: docs/outbound-calls.md, "Threads").
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AgentProfile, WebhookEvent } from '../call/agent-profile.js';
import { WEBHOOK_EVENTS } from '../call/agent-profile.js';
import type { CallServices } from '../call/call-services.js';
import { OutboundCallSession, type PlaceInvite } from '../call/outbound-call-session.js';
import { withVariables } from '../call/profile-variables.js';
import type { AgentRouter } from '../call/routing.js';
import type { GrokSipConfig } from '../config/load-config.js';
import { isDialable, resolveTrunks, trunkInvite, TrunkLimits, type Trunk } from './trunks.js';

export interface PlaceCallRequest {
  /** A number or user (`+15551234`, `4000`) dialled at the trunk, or a sip:/sips: URI. */
  readonly to: string;
  readonly trunk: string;
  /** Agent profile name (agents.profiles). */
  readonly agent: string;
  /** From user (default the trunk's fromUser). */
  readonly from?: string;
  /** Fill `{{name}}` in the profile's instructions and greeting. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Ring timeout, at most the trunk's ringTimeoutSec. */
  readonly timeoutSec?: number;
  /** The greeting waits for the callee's first words or a short silence. */
  readonly waitForCallee?: boolean;
  /** Call-event webhooks for this call, besides the profile's. */
  readonly webhooks?: readonly { readonly url: string; readonly events?: readonly WebhookEvent[] }[];
}

export type PlaceCallProblem =
  | 'invalid-field'
  | 'unknown-trunk'
  | 'unknown-agent'
  | 'trunk-busy'
  | 'trunk-rate'
  | 'unsupported'
  | 'draining';

/** A request that cannot be placed: `field` is the request field at fault, when one is. */
export class PlaceCallError extends Error {
  readonly problem: PlaceCallProblem;
  readonly field: string | undefined;
  constructor(problem: PlaceCallProblem, message: string, field?: string) {
    super(message);
    this.name = 'PlaceCallError';
    this.problem = problem;
    this.field = field;
  }
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks an untrusted request (the REST body, a library caller's object) into a typed one. */
export function parsePlaceCallRequest(body: unknown): PlaceCallRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new PlaceCallError('invalid-field', 'the body must be a JSON object', '');
  }
  const b = body as Record<string, unknown>;
  const known = new Set([
    'to',
    'from',
    'trunk',
    'agent',
    'variables',
    'timeoutSec',
    'waitForCallee',
    'webhooks',
  ]);
  for (const key of Object.keys(b)) {
    if (!known.has(key)) throw new PlaceCallError('invalid-field', `unknown field ${key}`, key);
  }
  const str = (key: string, required: boolean): string | undefined => {
    const v = b[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '') {
      throw new PlaceCallError('invalid-field', `${key} must be a non-empty string`, key);
    }
    return v;
  };
  const to = str('to', true)!;
  if (!isDialable(to)) {
    throw new PlaceCallError('invalid-field', 'to must be a number, a user or a sip:/sips: URI', 'to');
  }
  const from = str('from', false);
  if (from !== undefined && !/^[A-Za-z0-9+*#._-]{1,64}$/.test(from)) {
    throw new PlaceCallError('invalid-field', 'from must be a SIP user (digits, letters, +*#._-)', 'from');
  }
  const trunk = str('trunk', true)!;
  const agent = str('agent', true)!;
  let variables: Record<string, string> | undefined;
  if (b.variables !== undefined) {
    if (b.variables === null || typeof b.variables !== 'object' || Array.isArray(b.variables)) {
      throw new PlaceCallError('invalid-field', 'variables must be an object of strings', 'variables');
    }
    variables = {};
    for (const [name, value] of Object.entries(b.variables)) {
      if (!VARIABLE_NAME.test(name) || typeof value !== 'string') {
        throw new PlaceCallError('invalid-field', `variables.${name} must be a string`, `variables.${name}`);
      }
      variables[name] = value;
    }
  }
  const timeoutSec = b.timeoutSec;
  if (
    timeoutSec !== undefined &&
    (typeof timeoutSec !== 'number' || !Number.isInteger(timeoutSec) || timeoutSec < 1 || timeoutSec > 300)
  ) {
    throw new PlaceCallError('invalid-field', 'timeoutSec must be an integer 1–300', 'timeoutSec');
  }
  if (b.waitForCallee !== undefined && typeof b.waitForCallee !== 'boolean') {
    throw new PlaceCallError('invalid-field', 'waitForCallee must be true or false', 'waitForCallee');
  }
  let webhooks: { url: string; events?: WebhookEvent[] }[] | undefined;
  if (b.webhooks !== undefined) {
    if (!Array.isArray(b.webhooks)) {
      throw new PlaceCallError('invalid-field', 'webhooks must be a list of {url, events?}', 'webhooks');
    }
    webhooks = b.webhooks.map((w: unknown, i) => {
      const at = `webhooks[${i}]`;
      const hook = w as { url?: unknown; events?: unknown } | null;
      if (typeof hook?.url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(hook.url)) {
        throw new PlaceCallError('invalid-field', `${at}.url must be an http(s) URL`, `${at}.url`);
      }
      const events = hook.events;
      if (
        events !== undefined &&
        (!Array.isArray(events) || events.some((e) => !(WEBHOOK_EVENTS as readonly unknown[]).includes(e)))
      ) {
        throw new PlaceCallError(
          'invalid-field',
          `${at}.events must be a list of ${WEBHOOK_EVENTS.join(', ')}`,
          `${at}.events`,
        );
      }
      return { url: hook.url, ...(events !== undefined && { events: events as WebhookEvent[] }) };
    });
  }
  return {
    to,
    trunk,
    agent,
    ...(from !== undefined && { from }),
    ...(variables !== undefined && { variables }),
    ...(timeoutSec !== undefined && { timeoutSec }),
    ...(b.waitForCallee !== undefined && { waitForCallee: b.waitForCallee }),
    ...(webhooks !== undefined && { webhooks }),
  };
}

export class OutboundCalls {
  readonly #trunks: Map<string, Trunk>;
  readonly #limits = new TrunkLimits();
  readonly #place: PlaceInvite | undefined;

  /** Throws TrunkConfigError for a trunk naming a registration that is not configured. */
  constructor(config: GrokSipConfig, place: PlaceInvite | undefined) {
    this.#trunks = resolveTrunks(config);
    this.#place = place;
  }

  get trunks(): readonly Trunk[] {
    return [...this.#trunks.values()];
  }

  activeOn(trunk: string): number {
    return this.#limits.active(trunk);
  }

  /** Starts the call (throws PlaceCallError before anything is sent when it cannot be placed). */
  start(request: PlaceCallRequest, services: CallServices, router: AgentRouter): OutboundCallSession {
    if (this.#place === undefined) {
      throw new PlaceCallError('unsupported', 'this signaling backend cannot place calls (use embedded)');
    }
    const trunk = this.#trunks.get(request.trunk);
    if (trunk === undefined) {
      throw new PlaceCallError('unknown-trunk', `no trunk named ${request.trunk}`, 'trunk');
    }
    const base = router.byName(request.agent);
    if (base === null)
      throw new PlaceCallError('unknown-agent', `no agent profile named ${request.agent}`, 'agent');
    const { target, invite } = trunkInvite(trunk, request.to, {
      ...(request.from !== undefined && { fromUser: request.from }),
      ...(request.timeoutSec !== undefined && { ringTimeoutSec: request.timeoutSec }),
    });
    const refused = this.#limits.admit(trunk, performance.now());
    if (refused === 'max-calls') {
      throw new PlaceCallError(
        'trunk-busy',
        `trunk ${trunk.name} has its maxCalls (${trunk.maxCalls}) calls up`,
        'trunk',
      );
    }
    if (refused === 'rate') {
      throw new PlaceCallError(
        'trunk-rate',
        `trunk ${trunk.name} is at its maxCallsPerSec (${trunk.maxCallsPerSec}); try again in a second`,
        'trunk',
      );
    }
    let profile: AgentProfile = withVariables(base, request.variables);
    if (request.webhooks !== undefined && request.webhooks.length > 0) {
      profile = {
        ...profile,
        webhooks: [
          ...(profile.webhooks ?? []),
          ...request.webhooks.map((w) => ({
            url: w.url,
            headers: {},
            timeoutMs: 5000,
            events: w.events ?? [...WEBHOOK_EVENTS],
          })),
        ],
      };
    }
    const session = new OutboundCallSession(
      {
        callId: randomUUID(),
        target,
        to: request.to,
        trunk: trunk.name,
        profile,
        invite,
        ...(request.waitForCallee !== undefined && { waitForCallee: request.waitForCallee }),
      },
      services,
      this.#place,
    );
    void session.done.finally(() => this.#limits.release(trunk.name));
    return session;
  }
}

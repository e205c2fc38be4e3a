// The embedded signaling backend: a sip.js 0.21.2 UserAgent (pinned; upstream is dormant) over our
// Node transport, with the pass-through SDP handler. The contained workarounds, each covered by
// the tests in test/sip/:
//   - UDP values for timers D/I/J/K (sip.js ships the reliable-transport zeros), see #udpTimers
//     (udp-retransmission.test.ts);
//   - any Request-URI user accepted (sip.js answers 404 unless it is the UA's own user);
//   - credentials chosen per registration account (sip.js has one username/password per UA);
//   - sip.js's parser table built once per process, not per parse (sipjs-grammar.ts, G4).
import { EventEmitter } from 'node:events';
import { Core, Invitation, SessionState, URI, UserAgent } from 'sip.js';
import { logger } from '../../observability/logger.js';
import type { InboundDecision, InboundRequest } from '../inbound-policy.js';
import type {
  IncomingCall,
  RegistrationState,
  SignalingBackend,
  SipTransportName,
  SourceAddress,
} from '../signaling-backend.js';
import { EmbeddedDialog, EmbeddedIncomingCall } from './embedded-call.js';
import { NodeTransport, type NodeTransportOptions, type ScreenVerdict } from './node-transport.js';
import { placeCall, type OutboundCall, type OutboundCallOptions } from './outbound-call.js';
import { AccountCredentials, RegistrationClient, type RegistrationAccount } from './registration-client.js';
import { passthroughHandlerFactory } from './sdp-passthrough.js';
import type { ListenerSpec, Received } from './sip-sockets.js';
import type { CertificateSummary } from './tls-credentials.js';
import { T1_MS } from './udp-retransmission.js';
import { uriUser } from '../sip-uri.js';
import { detached } from './sip-message-text.js';
import { waitAtMost } from '../wait-at-most.js';
import { DEFAULT_SIP_LIMITS, type SipLimits } from '../sip-limits.js';
import { SourceRateLimit } from '../source-rate-limit.js';
import { CallAdmission } from '../call-admission.js';
import { guardSipJs } from './sipjs-guards.js';
import { uriHost } from '../sip-uri.js';
import { hoistSipJsGrammar } from './sipjs-grammar.js';
import { ignore } from '../../observability/ignored-errors.js';

const log = logger.child({ module: 'sip' });

export interface InboundScreenRequest extends InboundRequest {
  readonly sourcePort: number;
  readonly transport: SipTransportName;
  readonly callId: string;
}

export interface EmbeddedBackendOptions {
  readonly listen: readonly ListenerSpec[];
  /** Address in Via, Contact (default: the first listener's address; set it when binding 0.0.0.0). */
  readonly advertisedAddress?: string;
  /** Calls up at once; the next INVITE gets 503 with Retry-After. */
  readonly maxCalls: number;
  readonly retryAfterSec: number;
  /** User-Agent / Server header value. */
  readonly userAgent: string;
  readonly registrations: readonly RegistrationAccount[];
  /** Screens requests that start a dialog or stand alone (no To tag); the policy module decides. */
  readonly inboundPolicy?: (req: InboundScreenRequest) => InboundDecision;
  /** Contact user for calls that did not come through a registration (default 'grok-sip'). */
  readonly contactUser?: string;
  /** Answer at the source address and port whatever the Via says (default true; node-transport.ts). */
  readonly forceRport?: boolean;
  /** Message, connection and per-source rate limits (sip-limits.ts has the defaults). */
  readonly limits?: Partial<SipLimits>;
  /** Registration retry backoff (defaults 2 s doubling to 5 min). */
  readonly registrationRetryBaseMs?: number;
  readonly registrationMaxRetryMs?: number;
}

/** How long stop() waits for BYE responses and un-REGISTERs. */
const STOP_GRACE_MS = 3000;

export class EmbeddedBackend implements SignalingBackend {
  readonly name = 'embedded' as const;
  readonly events = new EventEmitter<{ registration: [RegistrationState] }>();
  readonly #options: EmbeddedBackendOptions;
  readonly #advertised: string;
  readonly #ua: UserAgent;
  readonly #transport: NodeTransport;
  readonly #registrations: RegistrationClient[] = [];
  /** Via branch of an INVITE → where it came from, until the Invitation picks it up. */
  readonly #sources = new Map<string, SourceAddress>();
  readonly #originalRuri = new WeakMap<Core.IncomingRequestMessage, URI>();
  readonly #dialogs = new Set<EmbeddedDialog>();
  /** BYEs we sent whose transaction is still open: stop() lets them finish before closing sockets. */
  readonly #byesInFlight = new Set<Promise<void>>();
  #handler: ((call: IncomingCall) => void) | null = null;
  readonly #admission: CallAdmission;

  constructor(options: EmbeddedBackendOptions) {
    this.#admission = new CallAdmission(options.maxCalls, options.retryAfterSec);
    const first = options.listen[0];
    if (first === undefined) throw new RangeError('at least one SIP listener is needed');
    this.#options = options;
    this.#advertised = options.advertisedAddress ?? first.address;
    const contactUser = options.contactUser ?? 'grok-sip';
    const limits: SipLimits = { ...DEFAULT_SIP_LIMITS, ...options.limits };
    const rateLimit = new SourceRateLimit(limits);
    const transportOptions: NodeTransportOptions = {
      listen: options.listen,
      advertisedAddress: this.#advertised,
      limits,
      admit: (address) => rateLimit.admit(address),
      retryAfterSec: options.retryAfterSec,
      forceRport: options.forceRport ?? true,
      atCapacity: () => this.#admission.full,
      screenRequest: (request, from) => this.#screen(request, from),
    };
    // sip.js writes these hosts as given: an IPv6 address must come bracketed (K2).
    this.#ua = new UserAgent({
      uri: new URI('sip', contactUser, uriHost(this.#advertised)),
      viaHost: uriHost(this.#advertised),
      contactName: contactUser,
      contactParams: {},
      userAgentString: options.userAgent,
      sendInitialProvisionalResponse: false,
      transportConstructor: NodeTransport,
      transportOptions,
      sessionDescriptionHandlerFactory: passthroughHandlerFactory,
      logBuiltinEnabled: false,
      logLevel: 'warn',
      logConnector: (level, category, _label, content) => log.debug({ level, category }, String(content)),
      delegate: { onInvite: (invitation) => this.#onInvite(invitation) },
    });
    this.#transport = this.#ua.transport as NodeTransport;
    this.#acceptAnyRequestUser(contactUser);
    const accounts = new Map<string, RegistrationAccount>();
    for (const account of options.registrations) {
      const client = new RegistrationClient(
        account,
        {
          core: this.#ua.userAgentCore,
          advertisedAddress: this.#advertised,
          contactPort: (t) => this.#transport.sockets.port(t),
          userAgent: options.userAgent,
        },
        {
          retryBaseMs: options.registrationRetryBaseMs ?? 2000,
          maxRetryMs: options.registrationMaxRetryMs ?? 300_000,
        },
        (state) => this.events.emit('registration', state),
      );
      accounts.set(client.aorKey, account);
      this.#registrations.push(client);
    }
    const loggerFactory = this.#ua.getLoggerFactory();
    this.#ua.userAgentCore.configuration.authenticationFactory = () =>
      new AccountCredentials(accounts, loggerFactory) as unknown as Core.DigestAuthentication;
  }

  get connected(): boolean {
    return this.#transport.isConnected();
  }

  async start(): Promise<void> {
    udpTimers();
    guardSipJs();
    await hoistSipJsGrammar();
    await this.#ua.start();
    for (const r of this.#registrations) r.start();
  }

  async stop(): Promise<void> {
    for (const dialog of this.#dialogs) dialog.markEnding('shutdown');
    await waitAtMost(
      Promise.all([
        ...this.#registrations.map((r) => r.stop()),
        ...[...this.#dialogs].map((d) => d.hangup()),
        ...this.#byesInFlight,
      ]),
      STOP_GRACE_MS,
    );
    // ua.stop() can wait forever on sessions that never got their ACK.
    await waitAtMost(this.#ua.stop(), STOP_GRACE_MS);
    await this.#transport.disconnect();
  }

  /** Places a call (UAC) from this stack; see outbound-call.ts. */
  placeCall(options: OutboundCallOptions): Promise<OutboundCall> {
    return placeCall(this.#ua, options, (dialog) => {
      this.#dialogs.add(dialog);
      dialog.events.once('terminated', () => {
        this.#dialogs.delete(dialog);
        // As for inbound calls: a stop() right after our hangup must not close the socket under the BYE.
        const bye = dialog.byeInFlight;
        if (bye !== undefined) {
          this.#byesInFlight.add(bye);
          void bye.catch(ignore('embedded-backend.bye')).finally(() => this.#byesInFlight.delete(bye));
        }
      });
    });
  }

  async unregister(): Promise<void> {
    await waitAtMost(Promise.all(this.#registrations.map((r) => r.stop())), STOP_GRACE_MS);
  }

  onIncomingCall(handler: (call: IncomingCall) => void): void {
    this.#handler = handler;
  }

  registrations(): readonly RegistrationState[] {
    return this.#registrations.map((r) => r.state);
  }

  /** Bound port of the first listener of a transport (useful when listening on port 0). */
  port(transport: SipTransportName): number | undefined {
    return this.#transport.sockets.port(transport);
  }

  /**
   * Reads the TLS listeners' certificate, key and CA files again (SIGHUP): new handshakes get the
   * new certificate, connections and calls already up go on. Throws if a file fails (the old
   * certificate stays in use).
   */
  reloadTls(): CertificateSummary[] {
    return this.#transport.sockets.reloadTls();
  }

  /** Certificates the TLS listeners serve. */
  tlsCertificates(): CertificateSummary[] {
    return this.#transport.sockets.tlsCertificates();
  }

  get activeCalls(): number {
    return this.#admission.active;
  }

  #screen(request: Core.IncomingRequestMessage, from: Received): ScreenVerdict {
    if (request.method === 'INVITE' && !request.toTag) {
      this.#sources.set(detached(request.viaBranch), {
        address: from.address,
        port: from.port,
        transport: from.transport,
      });
      if (this.#sources.size > 10_000) this.#sources.delete(this.#sources.keys().next().value!);
    }
    const policy = this.#options.inboundPolicy;
    if (policy === undefined || request.toTag) return 'accept';
    const authorization = request.getHeader('authorization');
    const decision = policy({
      sourceAddress: from.address,
      sourcePort: from.port,
      transport: from.transport,
      method: request.method,
      uri: request.ruri?.toRaw() ?? '',
      callId: request.callId,
      ...(authorization !== undefined && { authorization }),
    });
    if (decision === 'accept') return 'accept';
    this.#sources.delete(request.viaBranch);
    if (decision === 'drop' || request.method === 'ACK') return 'drop';
    // Answered by the transport statelessly: never retransmitted (a spoofed source must not
    // get ten 401s for one INVITE: reflection), never holding transaction state.
    if (decision.status === 403) return { status: 403, phrase: 'Forbidden' };
    return {
      status: 401,
      phrase: 'Unauthorized',
      extra: [`WWW-Authenticate: ${decision.wwwAuthenticate}`],
    };
  }

  /**
   * sip.js answers 404 unless the R-URI user is its own; we take any user (DIDs) and keep the
   * dialled one. It answers 416 to a `sips:` R-URI; the transport took it only over TLS.
   */
  #acceptAnyRequestUser(contactUser: string): void {
    const core = this.#ua.userAgentCore;
    const receive = core.receiveIncomingRequestFromTransport.bind(core);
    core.receiveIncomingRequestFromTransport = (message: Core.IncomingRequestMessage) => {
      const ruri = message.ruri;
      if (ruri !== undefined && (ruri.user !== contactUser || ruri.scheme === 'sips')) {
        this.#originalRuri.set(message, ruri);
        const copy = ruri.clone();
        copy.user = contactUser;
        copy.scheme = 'sip';
        message.ruri = copy;
      }
      receive(message);
    };
  }

  #onInvite(invitation: Invitation): void {
    const message = invitation.request;
    const ruri = this.#originalRuri.get(message) ?? message.ruri;
    const source = this.#sources.get(message.viaBranch) ?? {
      address: message.via.host,
      port: message.via.port ?? 5060,
      transport: 'udp' as const,
    };
    this.#sources.delete(message.viaBranch);
    const handler = this.#handler;
    const release = handler === null ? null : this.#admission.admit();
    if (release === null || handler === null) {
      const { status, retryAfter } = this.#admission.refusal;
      invitation
        .reject({ statusCode: status, extraHeaders: [`Retry-After: ${retryAfter}`] })
        .catch(ignore('embedded-backend.send-503'));
      return;
    }
    let dialog: EmbeddedDialog | null = null;
    invitation.stateChange.addListener((state) => {
      if (state === SessionState.Established && dialog === null) {
        dialog = call.currentDialog;
        if (dialog !== null) this.#dialogs.add(dialog);
      }
      if (state === SessionState.Terminated) {
        release();
        if (dialog !== null) {
          this.#dialogs.delete(dialog);
          const bye = dialog.byeInFlight;
          if (bye !== undefined) {
            this.#byesInFlight.add(bye);
            // A failed BYE is stop()'s to wait out (waitAtMost counts it), not an unhandled rejection.
            void bye.catch(ignore('embedded-backend.bye')).finally(() => this.#byesInFlight.delete(bye));
          }
        }
      }
    });
    const dialledUser = ruri?.user ?? '';
    const call = new EmbeddedIncomingCall(invitation, {
      source,
      dialledUser: dialledUser !== '' ? dialledUser : (uriUser(message.getHeader('to') ?? '') ?? ''),
      requestUri: ruri?.toString() ?? '',
    });
    try {
      handler(call);
    } catch (err) {
      log.error({ err, callId: call.callId }, 'incoming-call handler threw; answering 500');
      call.reject(500);
    }
  }
}

/** RFC 3261 Table 4 values for unreliable transports (sip.js ships 0 for D, I, J, K). */
function udpTimers(): void {
  const timers = Core.Timers as { -readonly [K in keyof typeof Core.Timers]: number };
  timers.TIMER_D = 32_000;
  timers.TIMER_I = timers.T4;
  timers.TIMER_J = 64 * T1_MS;
  timers.TIMER_K = timers.T4;
}

// The drachtio signaling backend: drachtio-server owns the SIP transport and transactions; this
// process is its application over drachtio-srf, either connecting to the server ("inbound"
// connection, srf.connect, reconnected by drachtio-srf with backoff) or being connected to per
// call ("outbound", srf.listen). Same SignalingBackend contract as the embedded backend: capacity
// (503 + Retry-After), inbound policy, registrations, BYE to every call on stop.
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:net';
import { logger, LogOnce, type Logger } from '../../observability/logger.js';
import { hasBadEscape, uriUser } from '../sip-uri.js';
import { rejectedInputs, reasonOf } from '../../observability/rejected-input.js';
import type { InboundDecision, InboundRequest } from '../inbound-policy.js';
import type {
  IncomingCall,
  RegistrationState,
  SignalingBackend,
  SourceAddress,
} from '../signaling-backend.js';
import { DrachtioDialog, DrachtioIncomingCall } from './drachtio-call.js';
import { DrachtioRegistration, type DrachtioRegistrationAccount } from './drachtio-registration.js';
import { closeSrf, createSrf, type Srf, type SrfRequest, type SrfResponse } from './drachtio-srf-api.js';
import { waitAtMost } from '../wait-at-most.js';
import { CallAdmission } from '../call-admission.js';
import { unsupportedOptionTags } from '../sip-extensions.js';

export interface DrachtioConnection {
  /** inbound: we connect to drachtio-server (host:port); outbound: it connects to us (listenPort). */
  readonly mode: 'inbound' | 'outbound';
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly listenPort: number;
}

export interface DrachtioBackendOptions {
  readonly drachtio: DrachtioConnection;
  readonly maxCalls: number;
  readonly retryAfterSec: number;
  readonly userAgent: string;
  readonly registrations: readonly DrachtioRegistrationAccount[];
  readonly inboundPolicy?: (req: InboundRequest) => InboundDecision;
  /**
   * Accepted for the same options as the embedded backend, but drachtio-server writes Via and
   * Contact from its own <contact> (external-ip): set it there. Logged once if given.
   */
  readonly advertisedAddress?: string;
  /** How long start() waits for the first connection before going on (reconnects continue). */
  readonly connectWaitMs?: number;
  readonly log?: Logger;
}

const STOP_GRACE_MS = 3000;

export class DrachtioBackend implements SignalingBackend {
  readonly name = 'drachtio' as const;
  readonly events = new EventEmitter<{ registration: [RegistrationState] }>();
  /** true when drachtio-server is (re)connected, false when the connection is lost. */
  readonly connection = new EventEmitter<{ change: [boolean] }>();
  readonly #options: DrachtioBackendOptions;
  readonly #log: Logger;
  readonly #logOnce = new LogOnce();
  readonly #srf: Srf;
  readonly #registrations: DrachtioRegistration[];
  readonly #dialogs = new Set<DrachtioDialog>();
  #handler: ((call: IncomingCall) => void) | null = null;
  readonly #admission: CallAdmission;
  #connected = false;

  constructor(options: DrachtioBackendOptions) {
    this.#admission = new CallAdmission(options.maxCalls, options.retryAfterSec);
    if (options.drachtio.mode === 'outbound' && options.registrations.length > 0) {
      throw new RangeError(
        'sip.registrations need sip.drachtio.mode inbound: in outbound mode drachtio-server connects only per call, so there is no standing connection to send REGISTER over',
      );
    }
    this.#options = options;
    this.#log = (options.log ?? logger).child({ module: 'drachtio' });
    this.#srf = createSrf();
    this.#registrations = options.registrations.map(
      (account) =>
        new DrachtioRegistration(
          account,
          this.#srf,
          (state) => this.events.emit('registration', state),
          this.#log,
        ),
    );
  }

  /** Inbound mode: drachtio-server is connected. Outbound mode: we listen for its per-call connections. */
  get connected(): boolean {
    return this.#connected;
  }

  get activeCalls(): number {
    return this.#admission.active;
  }

  async start(): Promise<void> {
    const { drachtio } = this.#options;
    if (this.#options.advertisedAddress !== undefined) {
      this.#log.warn(
        { advertisedAddress: this.#options.advertisedAddress },
        "sip.advertisedAddress is not used with drachtio: set drachtio-server's <contact> external-ip",
      );
    }
    this.#srf.on('connect', (err: Error | null, hostPort: string) => {
      if (err) {
        if (this.#logOnce.first(`connect:${err.message}`)) {
          this.#log.error({ err: err.message }, 'drachtio-server refused us: check sip.drachtio.secret');
        }
        return;
      }
      if (drachtio.mode === 'outbound') {
        // One connection per call; the listener's state is what `connected` reports.
        this.#log.debug({ hostPort }, 'drachtio-server connected for a call');
        return;
      }
      this.#connected = true;
      this.#log.info({ hostPort }, 'connected to drachtio-server');
      this.connection.emit('change', true);
      for (const r of this.#registrations) if (r.state.status !== 'registered') r.start();
    });
    this.#srf.on('error', (err: Error) => {
      // drachtio-srf reconnects by itself with backoff; say it once per cause.
      if (this.#logOnce.first(`error:${err.message}`)) {
        this.#log.warn(
          { err: err.message, host: drachtio.host, port: drachtio.port },
          'drachtio-server unreachable; retrying',
        );
      }
    });
    this.#srf.on('close', () => {
      if (drachtio.mode === 'outbound' || !this.#connected) return;
      this.#connected = false;
      this.#log.warn('connection to drachtio-server lost; reconnecting');
      this.connection.emit('change', false);
    });
    this.#srf.invite((req, res) => this.#onInviteGuarded(req, res));
    this.#srf.options((_req, res) => res.send(200));
    if (drachtio.mode === 'outbound') {
      await this.#listen(drachtio.listenPort, drachtio.secret);
      return;
    }
    this.#srf.connect({ host: drachtio.host, port: drachtio.port, secret: drachtio.secret });
    const waitMs = this.#options.connectWaitMs ?? 5000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn(
          { host: drachtio.host, port: drachtio.port },
          'drachtio-server not reachable yet; calls wait for the reconnect',
        );
        resolve();
      }, waitMs);
      timer.unref();
      this.connection.once('change', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Outbound mode: our own server, so a port in use rejects start() instead of throwing uncaught. */
  async #listen(port: number, secret: string): Promise<void> {
    const server = createServer();
    server.listen(port);
    try {
      await once(server, 'listening');
    } catch (err) {
      throw new Error(
        `cannot listen for drachtio-server connections on port ${port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    server.on('error', (err) => this.#log.error({ err: err.message }, 'drachtio listener failed'));
    this.#srf.listen({ server, secret });
    this.#connected = true;
    this.#log.info({ port }, 'listening for drachtio-server connections (outbound mode)');
    this.connection.emit('change', true);
  }

  async unregister(): Promise<void> {
    await waitAtMost(Promise.all(this.#registrations.map((r) => r.stop())), STOP_GRACE_MS);
  }

  async stop(): Promise<void> {
    for (const dialog of this.#dialogs) dialog.markEnding('shutdown');
    await waitAtMost(
      Promise.all([
        ...this.#registrations.map((r) => r.stop()),
        ...[...this.#dialogs].map((d) => d.hangup()),
      ]),
      STOP_GRACE_MS,
    );
    this.#srf.removeAllListeners('close');
    closeSrf(this.#srf, this.#connected);
    this.#connected = false;
  }

  onIncomingCall(handler: (call: IncomingCall) => void): void {
    this.#handler = handler;
  }

  registrations(): readonly RegistrationState[] {
    return this.#registrations.map((r) => r.state);
  }

  /** Outbound mode: the call's own connection closes with it (srf.endSession; no-op inbound). */
  #endSession(req: SrfRequest): void {
    if (this.#options.drachtio.mode !== 'outbound') return;
    // Let the last response or BYE be written first.
    setImmediate(() => {
      try {
        this.#srf.endSession(req);
      } catch (err) {
        this.#log.debug({ err: (err as Error).message }, 'drachtio session already closed');
      }
    });
  }

  /**
   * The input boundary on this backend (issue 13): an exception while handling an INVITE is
   * ours to log and answer 400, not drachtio-srf's to answer 500 through console.error.
   */
  #onInviteGuarded(req: SrfRequest, res: SrfResponse): void {
    try {
      this.#onInvite(req, res);
    } catch (err) {
      rejectedInputs.reject('sip', `${req.protocol}:${req.source_address}`, reasonOf(err), err);
      if (!res.finalResponseSent) res.send(400, 'Bad Request');
      this.#endSession(req);
    }
  }

  #onInvite(req: SrfRequest, res: SrfResponse): void {
    if (hasBadEscape(req.uri)) {
      // RFC 3261 §19.1.2: escapes must decode; an unreadable Request-URI user cannot be routed.
      rejectedInputs.reject(
        'sip',
        `${req.protocol}:${req.source_address}`,
        'bad %-escape in the Request-URI',
      );
      res.send(400, 'Bad Request (Request-URI escape)');
      this.#endSession(req);
      return;
    }
    const source: SourceAddress = {
      address: req.source_address,
      port: Number(req.source_port),
      transport: /tls/i.test(req.protocol) ? 'tls' : /tcp/i.test(req.protocol) ? 'tcp' : 'udp',
    };
    const policy = this.#options.inboundPolicy;
    if (policy !== undefined) {
      const authorization = req.get('Authorization');
      const decision = policy({
        sourceAddress: source.address,
        method: 'INVITE',
        uri: req.uri,
        ...(authorization !== undefined && { authorization }),
      });
      // drop: nothing is sent; drachtio-server times the transaction out.
      if (decision === 'drop') return;
      if (decision !== 'accept') {
        const headers: Record<string, string> =
          decision.status === 401 ? { 'WWW-Authenticate': decision.wwwAuthenticate } : {};
        res.send(decision.status, decision.status === 401 ? 'Unauthorized' : 'Forbidden', { headers });
        this.#endSession(req);
        return;
      }
    }
    const unsupported = unsupportedOptionTags([req.get('Require')]);
    if (unsupported.length > 0) {
      res.send(420, 'Bad Extension', { headers: { Unsupported: unsupported.join(', ') } });
      this.#endSession(req);
      return;
    }
    const handler = this.#handler;
    const slot = handler === null ? null : this.#admission.admit();
    if (slot === null || handler === null) {
      const { status, reason, retryAfter } = this.#admission.refusal;
      res.send(status, reason, { headers: { 'Retry-After': retryAfter } });
      this.#endSession(req);
      return;
    }
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      slot();
      this.#endSession(req);
    };
    const dialledUser = uriUser(req.uri) ?? uriUser(req.get('To') ?? '') ?? '';
    const call = new DrachtioIncomingCall(this.#srf, req, res, {
      source,
      dialledUser,
      userAgent: this.#options.userAgent,
      onFinished: release,
      onDialog: (dialog) => {
        this.#dialogs.add(dialog);
        dialog.events.once('terminated', () => {
          this.#dialogs.delete(dialog);
          release();
        });
      },
    });
    try {
      handler(call);
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, callId: call.callId },
        'incoming-call handler threw; answering 500',
      );
      call.reject(500);
    }
  }
}

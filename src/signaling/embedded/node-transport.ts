// sip.js Transport over Node UDP/TCP/TLS sockets. sip.js hands `send()` only the serialized message,
// so this routes by reading it (RFC 3261 §18, see next-hop.ts), and repairs what sip.js writes for
// WebSockets: Via and Contact without our port (the UA would drop responses whose Via has a port,
// so the port is stripped again on the way in). It also runs the UDP retransmissions sip.js lacks.
import { ignore } from '../../observability/ignored-errors.js';
import { isIP, isIPv6 } from 'node:net';
import { uriHost } from '../sip-uri.js';
import { performance } from 'node:perf_hooks';
import { Core, EmitterImpl, TransportState, type Emitter, type Transport } from 'sip.js';
import { rejectedInputs, reasonOf, type InputKind } from '../../observability/rejected-input.js';
import type { SipTransportName } from '../signaling-backend.js';
import { HostResolver, requestHop, responseHop, type NextHop } from './next-hop.js';
import {
  checkMessage,
  rfc2543Contact,
  type Refusal,
  refuseRequest,
  refuseStartLine,
  statelessResponse,
  unsupportedExtensions,
} from './request-sanity.js';
import type { SipLimits } from '../sip-limits.js';
import { SipSockets, type ListenerSpec, type Received } from './sip-sockets.js';
import {
  findHeader,
  headerName,
  joinMessage,
  readTopVia,
  splitMessage,
  stampReceived,
  writeTopVia,
  type MessageHead,
} from './sip-message-text.js';
import { peerBranch, transactionBranch } from './transaction-key.js';
import { UdpRetransmitter } from './udp-retransmission.js';
import { CallListeners } from './call-listeners.js';
import { deliverParsed, installParseHandoff } from './message-handoff.js';

/** What the inbound policy makes of a request (screenRequest). */
export type ScreenVerdict = 'accept' | 'drop' | Refusal;

export interface NodeTransportOptions {
  readonly listen: readonly ListenerSpec[];
  /** Host written into Via and Contact; equals the UserAgent's viaHost. */
  readonly advertisedAddress: string;
  readonly limits: SipLimits;
  /** Out-of-dialog request from this source address within its rate (source-rate-limit.ts)? */
  readonly admit: (sourceAddress: string) => boolean;
  /** Retry-After of a 503 for a source over its rate or a call over capacity. */
  readonly retryAfterSec: number;
  /** Calls at maxCalls: a new INVITE gets a stateless 503 here, before any transaction or call state. */
  readonly atCapacity: () => boolean;
  /**
   * Answer every request at its source address and port, as if it asked with `;rport` (RFC 3581;
   * Asterisk's force_rport, Kamailio's force_rport()): a caller behind NAT, or one whose Via
   * names a host we cannot reach, still gets its responses.
   */
  readonly forceRport: boolean;
  /**
   * Called with each well-formed incoming request before sip.js gets it (inbound policy): accept
   * hands it to sip.js, drop ends it here, a refusal is answered statelessly by the transport.
   */
  readonly screenRequest: (request: Core.IncomingRequestMessage, from: Received) => ScreenVerdict;
}

/** Requests we answered for a branch: where the answers go on TCP/TLS (the connection it came on). */
const BRANCH_MEMORY_MS = 64 * 500;
const BRANCH_SWEEP_MS = 4000;

export class NodeTransport implements Transport {
  readonly protocol = 'UDP';
  readonly stateChange: Emitter<TransportState>;
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;

  readonly sockets: SipSockets;
  readonly retransmitter = new UdpRetransmitter();
  readonly #options: NodeTransportOptions;
  readonly #resolver = new HostResolver();
  readonly #parserLogger: Core.Logger;
  readonly #stateEmitter = new EmitterImpl<TransportState>();
  /** Via branch of a received request → where it came from (for the responses). */
  readonly #branches = new Map<string, { from: Received; atMs: number; sips: boolean }>();
  readonly #callListeners = new CallListeners();
  /**
   * The TLS connection each call's requests came in on: our requests of that call to the same
   * address go back on it (a TLS phone may name a port in its Contact where nothing listens).
   */
  readonly #callConnections = new CallListeners();
  /** Via host we wrote instead of sip.js's (dual stack) → sip.js's, restored on responses. */
  readonly #viaHostSwaps = new Map<string, string>();
  #state: TransportState = TransportState.Disconnected;
  #sweep: NodeJS.Timeout | undefined;

  constructor(_logger: Core.Logger, options: NodeTransportOptions) {
    installParseHandoff();
    this.#options = options;
    this.stateChange = this.#stateEmitter;
    const factory = new Core.LoggerFactory();
    factory.builtinEnabled = false;
    this.#parserLogger = factory.getLogger('sip.parser');
    this.sockets = new SipSockets(
      options.listen,
      {
        message: (text, from) => this.#receive(text, from),
        garbage: (reason, from) => this.#reject(from, reason, 'sip-stream'),
        tlsFailure: (reason, from) => this.#reject(from, reason, 'tls'),
      },
      options.limits,
    );
  }

  get #limits(): SipLimits {
    return this.#options.limits;
  }

  get state(): TransportState {
    return this.#state;
  }

  async connect(): Promise<void> {
    if (this.#state === TransportState.Connected) return;
    this.#setState(TransportState.Connecting);
    await this.sockets.start();
    // Every few seconds, so a flood's transaction memory is gone soon after BRANCH_MEMORY_MS.
    this.#sweep = setInterval(() => this.#forgetOldBranches(), BRANCH_SWEEP_MS);
    this.#sweep.unref();
    this.#setState(TransportState.Connected);
    this.onConnect?.();
  }

  async disconnect(): Promise<void> {
    if (this.#state === TransportState.Disconnected) return;
    this.#setState(TransportState.Disconnecting);
    clearInterval(this.#sweep);
    this.retransmitter.stopAll();
    await this.sockets.close();
    this.#setState(TransportState.Disconnected);
    this.onDisconnect?.();
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  isConnected(): boolean {
    return this.#state === TransportState.Connected;
  }

  async send(message: string): Promise<void> {
    const head = splitMessage(message);
    if (head === null) throw new TypeError('sip.js handed the transport a message without a header end');
    if (head.startLine.startsWith('SIP/2.0 ')) return this.#sendResponse(head);
    return this.#sendRequest(head);
  }

  async #sendResponse(head: MessageHead): Promise<void> {
    const via = readTopVia(head);
    if (via === null) throw new TypeError('response without a Via');
    const branch = via.params.get('branch') ?? '';
    // The peer's own branch back in the Via (transaction-key.ts).
    const original = peerBranch(branch);
    if (original !== undefined) {
      const params = new Map(via.params);
      if (original === null) params.delete('branch');
      else params.set('branch', original);
      writeTopVia(head, { ...via, params });
    }
    const request = this.#branches.get(branch);
    const origin = request?.from;
    // §18.2.2: on the transport the request came in on, whatever its Via claims.
    const viaHop = responseHop(via);
    const hop = origin === undefined ? viaHop : { ...viaHop, transport: origin.transport };
    // Our Contact names the UDP listener the request came in on (TCP/TLS: the first such listener).
    const arrivedOn = hop.transport === 'udp' && origin?.via !== undefined ? Number(origin.via) : undefined;
    this.#fixContact(head, hop.transport, arrivedOn, this.#hostFor(arrivedOn), request?.sips === true);
    const text = joinMessage(head);
    await this.#deliver(text, hop, origin?.via);
    const status = Number(head.startLine.split(' ')[1]);
    const method = /\s([A-Za-z]+)$/.exec(findHeader(head, 'cseq') ?? '')?.[1]?.toUpperCase();
    if (hop.transport === 'udp' && method === 'INVITE' && status >= 300) {
      this.retransmitter.inviteFailureSent(
        branch,
        () => void this.#deliver(text, hop, origin?.via).catch(ignore('sip-transport.timer-g-resend')),
      );
    }
  }

  async #sendRequest(head: MessageHead): Promise<void> {
    const [method = '', requestUri = ''] = head.startLine.split(' ');
    const fallback: SipTransportName = this.sockets.has('udp')
      ? 'udp'
      : this.sockets.has('tcp')
        ? 'tcp'
        : 'tls';
    const hop = requestHop(requestUri, findHeader(head, 'route'), fallback);
    const resolved: NextHop = { ...hop, host: await this.#resolver.resolve(hop.host) };
    const localPort =
      hop.transport === 'udp'
        ? this.#udpListenerFor(head, method, resolved.host)
        : this.sockets.port(hop.transport);
    if (localPort === undefined)
      throw new Error(`no ${hop.transport.toUpperCase()} listener for ${requestUri}`);
    const via = readTopVia(head);
    if (via === null) throw new TypeError('request without a Via');
    const host = this.#hostFor(hop.transport === 'udp' ? localPort : undefined);
    const viaHost = host === this.#options.advertisedAddress ? via.host : uriHost(host);
    if (viaHost !== via.host) this.#viaHostSwaps.set(viaHost, via.host);
    writeTopVia(head, { ...via, host: viaHost, protocol: hop.transport.toUpperCase(), port: localPort });
    this.#fixContact(head, hop.transport, localPort, host, hop.sips);
    const text = joinMessage(head);
    const from = hop.transport === 'udp' ? String(localPort) : this.#callConnectionTo(head, resolved);
    // TLS: the server's certificate must name the URI's host (an IP literal: its IP, checked by Node).
    const servername = isIP(hop.host) === 0 ? hop.host : undefined;
    await this.#deliver(text, resolved, from, servername);
    if (resolved.transport === 'udp') {
      const branch = via.params.get('branch') ?? '';
      this.retransmitter.request(
        branch,
        method.toUpperCase(),
        () => void this.#deliver(text, resolved, from).catch(ignore('sip-transport.timer-a-e-resend')),
      );
    }
  }

  /** The TLS connection this request's call came in on, if it leads to the request's next hop. */
  #callConnectionTo(head: MessageHead, hop: NextHop): string | undefined {
    if (hop.transport !== 'tls') return undefined;
    const key = this.#callConnections.get(findHeader(head, 'call-id'));
    return key !== undefined && this.sockets.remoteAddressOf(key) === hop.host ? key : undefined;
  }

  /**
   * The UDP listener a request leaves from: the one its call's requests came in on (a call stays
   * on its listener even when the same peer sends another call to another one); REGISTER from the
   * first listener, which its Contact names (registration-client.ts); else by peer (sip-sockets.ts).
   */
  #udpListenerFor(head: MessageHead, method: string, host: string): number | undefined {
    if (method.toUpperCase() === 'REGISTER') return this.sockets.port('udp');
    const callId = findHeader(head, 'call-id');
    const known = this.#callListeners.get(callId);
    if (known !== undefined && this.sockets.udpAddress(Number(known)) !== undefined) return Number(known);
    return this.sockets.udpPortFor(host);
  }

  async #deliver(text: string, hop: NextHop, viaKey?: string, servername?: string): Promise<void> {
    if (hop.transport === 'udp') this.sockets.sendUdp(text, hop.host, hop.port, viaKey);
    else await this.sockets.sendStream(hop.transport, text, hop.host, hop.port, viaKey, servername);
  }

  /**
   * The host we name in Via and Contact for a message through the UDP listener on `localPort`: the
   * advertised address, unless that is of the other address family and the listener is bound to a
   * specific address (dual stack: an IPv6 peer cannot reach our IPv4 address, nor the reverse).
   */
  #hostFor(localPort: number | undefined): string {
    const advertised = this.#options.advertisedAddress;
    const bound = localPort === undefined ? undefined : this.sockets.udpAddress(localPort);
    if (bound === undefined || bound === '::' || bound === '0.0.0.0') return advertised;
    return isIPv6(bound) === isIPv6(advertised) ? advertised : bound;
  }

  /**
   * Our Contact as sip.js writes it (`<sip:user@advertised>`, or `<sip:user@advertised;ob>` on a
   * call we place) gets our port, transport and host; its URI parameters stay. Over TLS it is
   * `sips:` when the request's URI was (RFC 3261 §8.1.1.8, §12.1.1), else `;transport=tls`.
   */
  #fixContact(
    head: MessageHead,
    transport: SipTransportName,
    localPort?: number,
    host?: string,
    sips = false,
  ): void {
    const port = localPort ?? this.sockets.port(transport);
    const plain = new RegExp(
      `sip:([^@<>]*)@${escapeRegExp(uriHost(this.#options.advertisedAddress))}(?=[>;])`,
    );
    const i = head.headerLines.findIndex((l) => headerName(l) === 'contact' && plain.test(l));
    if (i < 0 || port === undefined) return;
    const secure = sips && transport === 'tls';
    const suffix = transport === 'udp' || secure ? '' : `;transport=${transport}`;
    const shown = uriHost(host ?? this.#options.advertisedAddress);
    head.headerLines[i] = head.headerLines[i]!.replace(
      plain,
      `${secure ? 'sips' : 'sip'}:$1@${shown}:${port}${suffix}`,
    );
  }

  /**
   * The boundary around every incoming message (issue 13): whatever throws below — our parsing,
   * sip.js's parser, its transaction and dialog layers — is counted and logged once per source,
   * and answered 400 when the message is a request we can still answer.
   */
  #receive(text: string, from: Received): void {
    const receivedAtMs = performance.now();
    try {
      this.#handle(text, from, receivedAtMs);
    } catch (err) {
      rejectedInputs.reject('sip-stack', sourceOf(from), reasonOf(err), err);
      const head = splitMessage(text);
      const sanity = head === null ? null : checkMessage(head, false, this.#limits.maxHeaders);
      if (head === null || sanity === null || !(sanity.ok || sanity.answerable)) return;
      if (head.startLine.startsWith('SIP/') || head.startLine.startsWith('ACK ')) return;
      this.#replyBadRequest(head, from, 'could not be processed');
    }
  }

  #handle(text: string, from: Received, receivedAtMs: number): void {
    if (/^[\r\n]*$/.test(text)) return; // UDP keep-alive
    const split = splitMessage(text, from.transport === 'udp');
    if (split === null) return this.#reject(from, 'no header end');
    const sanity = checkMessage(split, from.transport === 'udp', this.#limits.maxHeaders);
    if (!sanity.ok) {
      this.#reject(from, sanity.reason);
      if (sanity.answerable) this.#replyBadRequest(split, from, sanity.reason);
      return;
    }
    const head = sanity.head;
    const isResponse = head.startLine.startsWith('SIP/');
    const isAck = head.startLine.startsWith('ACK ');
    const startLineRefusal = isResponse ? null : refuseStartLine(head);
    if (startLineRefusal !== null) {
      this.#reject(from, `${startLineRefusal.status} ${startLineRefusal.phrase}`);
      this.#replyStateless(
        head,
        from,
        startLineRefusal.status,
        startLineRefusal.phrase,
        startLineRefusal.extra,
      );
      return;
    }
    const via = readTopVia(head);
    if (via === null) {
      this.#reject(from, 'bad top Via');
      if (!isResponse && !isAck) {
        // Without a usable Via the 400 goes back to where the datagram came from.
        head.headerLines = head.headerLines.filter((l) => headerName(l) !== 'via');
        head.headerLines.unshift(`Via: SIP/2.0/${from.transport.toUpperCase()} ${from.address}:${from.port}`);
        this.#replyBadRequest(head, from, 'bad top Via');
      }
      return;
    }
    const peerView: MessageHead = { ...head, headerLines: [...head.headerLines] };
    if (isResponse) {
      const branch = via.params.get('branch') ?? '';
      const status = Number(head.startLine.split(' ')[1]);
      const method = /\s(\S+)$/.exec(findHeader(head, 'cseq') ?? '')?.[1]?.toUpperCase() ?? '';
      this.retransmitter.responseReceived(branch, method, status);
      // sip.js drops a response whose Via has a port (it never writes one itself), or whose
      // Via host is not the one it wrote (we may have swapped it for a dual-stack listener).
      const host = this.#viaHostSwaps.get(via.host) ?? via.host;
      writeTopVia(head, { ...via, host, port: undefined, protocol: this.protocol });
    } else {
      const branch = transactionBranch(head, via);
      // A retransmission, or the CANCEL of an INVITE we already took, belongs to a transaction we
      // have: never refused for rate or capacity (the caller would see a 503 for a call we answer).
      const known = this.#branches.has(branch);
      const inDialog = /;\s*tag\s*=/i.test(findHeader(head, 'to') ?? '');
      const overRate = !known && !inDialog && !isAck && !this.#options.admit(from.address);
      // Stateless (§8.2.6.2, RFC 3261 §21.5.4): no Timer G for a flood that never ACKs.
      const overCapacity =
        !known && !inDialog && head.startLine.startsWith('INVITE ') && this.#options.atCapacity();
      if (overRate || overCapacity) {
        this.#reject(from, overRate ? 'over the per-source request rate' : 'over maxCalls', 'sip-flood');
        this.#replyStateless(peerView, from, 503, 'Service Unavailable', [
          `Retry-After: ${this.#options.retryAfterSec}`,
        ]);
        return;
      }
      rfc2543Contact(head);
      const asked = this.#options.forceRport ? { ...via, params: new Map(via.params).set('rport', '') } : via;
      const stamped = stampReceived(asked, from.address, from.port);
      writeTopVia(head, { ...stamped, params: new Map(stamped.params).set('branch', branch) });
      const sips = /^\S+\s+sips:/i.test(head.startLine);
      this.#branches.set(branch, { from, atMs: Date.now(), sips });
      // With one UDP listener every call leaves from it: nothing to remember (10,000 Call-IDs of a
      // scan would otherwise stay in the map, ~1 MB after the SIP fuzz).
      if (from.transport === 'udp') {
        if (this.sockets.severalUdpListeners)
          this.#callListeners.remember(findHeader(head, 'call-id'), from.via);
      } else if (from.transport === 'tcp') this.sockets.alias(`${via.host}:${via.port ?? 5060}`, from.via);
      else this.#callConnections.remember(findHeader(head, 'call-id'), from.via);
      if (isAck) this.retransmitter.ackReceived(branch);
    }
    const rewritten = joinMessage(head);
    const parsed = Core.Parser.parseMessage(rewritten, this.#parserLogger);
    if (parsed === undefined) {
      this.#reject(from, 'unparseable by sip.js');
      if (!isResponse && !isAck) this.#replyBadRequest(peerView, from, 'unparseable');
      return;
    }
    if (parsed instanceof Core.IncomingRequestMessage) {
      // An ACK is never answered; one whose Request-URI sip.js cannot read would make it throw.
      if (isAck && parsed.ruri === undefined) return this.#reject(from, 'ACK with an unreadable Request-URI');
      const verdict = this.#options.screenRequest(parsed, from);
      if (verdict === 'drop') return;
      if (verdict !== 'accept') {
        this.#replyStateless(peerView, from, verdict.status, verdict.phrase, verdict.extra);
        return;
      }
      const refusal = refuseRequest(head, parsed.ruri !== undefined, from.transport === 'tls');
      if (refusal !== null) {
        this.#reject(from, `${refusal.status} ${refusal.phrase}`);
        this.#replyStateless(peerView, from, refusal.status, refusal.phrase, refusal.extra);
        return;
      }
      const unsupported = unsupportedExtensions(head);
      if (unsupported.length > 0) {
        // sip.js leaves §8.2.2.3 as a TODO and would accept the request.
        this.#reject(from, `Require: ${unsupported.join(', ')} (unsupported, 420)`);
        this.#replyStateless(peerView, from, 420, 'Bad Extension', [
          `Unsupported: ${unsupported.join(', ')}`,
        ]);
        return;
      }
    }
    // sip.js takes our parse instead of parsing the text again (message-handoff.ts).
    const onMessage = this.onMessage;
    if (onMessage !== undefined) deliverParsed(rewritten, parsed, receivedAtMs, onMessage);
  }

  #replyBadRequest(head: MessageHead, from: Received, reason: string): void {
    this.#replyStateless(head, from, 400, `Bad Request (${reason})`);
  }

  #replyStateless(
    head: MessageHead,
    from: Received,
    status: number,
    phrase: string,
    extra: string[] = [],
  ): void {
    // The source is where a broken request gets its answer, whatever its Via claims (it may not
    // even parse: RFC 4475 badvers), on the transport it came in on.
    const text = statelessResponse(head, status, phrase, extra);
    void this.#deliver(
      text,
      { host: from.address, port: from.port, transport: from.transport },
      from.via,
    ).catch((err: unknown) =>
      rejectedInputs.reject('sip', sourceOf(from), `response not sent: ${reasonOf(err)}`),
    );
  }

  #reject(from: Received, reason: string, kind: InputKind = 'sip'): void {
    rejectedInputs.reject(kind, sourceOf(from), reason);
  }

  #forgetOldBranches(): void {
    const cutoff = Date.now() - BRANCH_MEMORY_MS;
    for (const [branch, entry] of this.#branches) if (entry.atMs < cutoff) this.#branches.delete(branch);
  }

  #setState(state: TransportState): void {
    this.#state = state;
    this.#stateEmitter.emit(state);
  }
}

/** Rejections are logged once per source address and kind, whatever port a scanner uses. */
function sourceOf(from: Received): string {
  return `${from.transport}:${from.address}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

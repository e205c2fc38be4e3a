// Tripwires for the sip.js internals the embedded backend patches, replaces or relies on
// (docs/embedded-sip.md has the list and the reasons). No network, well under 2 s. A failure here
// after a sip.js upgrade says which patch to revisit: an internal we patch was removed or renamed,
// or a gap we repair is gone (then our repair may now be redundant or fight sip.js's own fix).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  Core,
  EmitterImpl,
  Invitation,
  Session,
  SessionState,
  TransportState,
  URI,
  UserAgent,
  type Emitter,
  type Transport,
} from 'sip.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { guardSipJs, guardedTimerNames } from '../../src/signaling/embedded/sipjs-guards.js';
import { T1_MS, T2_MS } from '../../src/signaling/embedded/udp-retransmission.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const lib = path.join(root, 'node_modules', 'sip.js', 'lib');
/** A sip.js source file as text (the FIXMEs we quote in docs/embedded-sip.md). */
const source = (file: string): string => readFileSync(path.join(lib, file), 'utf8');
/** Assertion message: the entry of docs/embedded-sip.md it guards (its id and name), and what it checks. */
const guards = (entry: string, what: string): string => `[${entry}] ${what} — see docs/embedded-sip.md`;

type Timers = { -readonly [K in keyof typeof Core.Timers]: number };
const timers = Core.Timers as Timers;

const TRANSACTION_CLASSES = {
  InviteClientTransaction: Core.InviteClientTransaction,
  InviteServerTransaction: Core.InviteServerTransaction,
  NonInviteClientTransaction: Core.NonInviteClientTransaction,
  NonInviteServerTransaction: Core.NonInviteServerTransaction,
} as const;
const TIMER_HOLDERS = {
  ...TRANSACTION_CLASSES,
  SubscribeUserAgentClient: Core.SubscribeUserAgentClient,
  SubscriptionDialog: Core.SubscriptionDialog,
} as const;
/** A prototype member by name, private ones included (TypeScript's `private` is not JavaScript's). */
const member = (cls: { prototype: object }, name: string): unknown =>
  (cls.prototype as unknown as Record<string, unknown>)[name];
// Taken before guardSipJs() replaces them.
const pristineOnAckTimeout = member(Invitation, 'onAckTimeout') as (this: Invitation) => void;
const pristineTimerA = String(member(Core.InviteClientTransaction, 'timerA'));
const pristineTimerG = String(member(Core.InviteServerTransaction, 'timerG'));
const timerMethods = (cls: { prototype: object }): string[] =>
  Object.getOwnPropertyNames(cls.prototype)
    .filter((n) => /^timer[A-Z]$/.test(n))
    .sort();

const loggerFactory = new Core.LoggerFactory();
loggerFactory.builtinEnabled = false;
const logger = loggerFactory.getLogger('sipjs-patches.test');

/** What a transaction or UserAgent needs of a transport; every message sip.js sends is kept. */
class RecordingTransport implements Transport {
  readonly protocol = 'UDP';
  readonly stateChange: Emitter<TransportState> = new EmitterImpl<TransportState>();
  state = TransportState.Disconnected;
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  readonly sent: string[] = [];

  async connect(): Promise<void> {
    this.state = TransportState.Connected;
  }
  async disconnect(): Promise<void> {
    this.state = TransportState.Disconnected;
  }
  async dispose(): Promise<void> {}
  isConnected(): boolean {
    return this.state === TransportState.Connected;
  }
  async send(message: string): Promise<void> {
    this.sent.push(message);
  }
  /** Status lines (or request lines) of what sip.js sent since the last call. */
  take(): string[] {
    return this.sent.splice(0).map((m) => m.slice(0, m.indexOf('\r\n')));
  }
}

/** A UserAgent configured the way EmbeddedBackend configures it, on a recording transport. */
async function startUserAgent(): Promise<{
  ua: UserAgent;
  transport: RecordingTransport;
  invitations: Invitation[];
  stop: () => Promise<void>;
}> {
  const invitations: Invitation[] = [];
  const ua = new UserAgent({
    uri: new URI('sip', 'grok-sip', '127.0.0.1'),
    viaHost: '127.0.0.1',
    contactName: 'grok-sip',
    contactParams: {},
    sendInitialProvisionalResponse: false,
    transportConstructor: RecordingTransport,
    logBuiltinEnabled: false,
    delegate: { onInvite: (invitation) => invitations.push(invitation) },
  });
  await ua.start();
  const stop = async (): Promise<void> => {
    for (const invitation of invitations) await invitation.dispose().catch(() => undefined);
    ua.userAgentCore.dispose(); // clears every transaction timer sip.js armed
    await ua.stop();
  };
  return { ua, transport: ua.transport as RecordingTransport, invitations, stop };
}

let serial = 0;
interface RequestSpec {
  readonly ruri?: string;
  readonly branch?: string;
  readonly sentBy?: string;
  readonly callId?: string;
  readonly version?: string;
  readonly toTag?: string;
  readonly contact?: boolean;
  readonly headers?: readonly string[];
  readonly body?: string;
}
/** A request as a peer would send it (sip.js's own R-URI user, so only the probed rule applies). */
function request(method: string, spec: RequestSpec = {}): string {
  serial++;
  const body = spec.body ?? '';
  return [
    `${method} ${spec.ruri ?? 'sip:grok-sip@127.0.0.1'} ${spec.version ?? 'SIP/2.0'}`,
    `Via: SIP/2.0/UDP ${spec.sentBy ?? '192.0.2.10:5070'};branch=${spec.branch ?? `z9hG4bK-probe-${serial}`}`,
    'Max-Forwards: 70',
    'From: <sip:caller@192.0.2.10>;tag=caller-tag',
    `To: <sip:grok-sip@127.0.0.1>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${spec.callId ?? `probe-${serial}`}`,
    `CSeq: 1 ${method}`,
    ...(spec.contact === false ? [] : ['Contact: <sip:caller@192.0.2.10:5070>']),
    ...(spec.headers ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}
const SDP =
  'v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
const invite = (spec: RequestSpec = {}): string =>
  request('INVITE', {
    ...spec,
    headers: ['Content-Type: application/sdp', ...(spec.headers ?? [])],
    body: SDP,
  });

function parseRequest(text: string): Core.IncomingRequestMessage {
  const message = Core.Parser.parseMessage(text, logger);
  if (!(message instanceof Core.IncomingRequestMessage)) throw new TypeError('probe request did not parse');
  return message;
}
function parseResponse(text: string): Core.IncomingResponseMessage {
  const message = Core.Parser.parseMessage(text, logger);
  if (!(message instanceof Core.IncomingResponseMessage)) throw new TypeError('probe response did not parse');
  return message;
}
/** A response to a request text, as the peer (or we) would build it. */
function responseTo(text: string, status: string, toTag = 'callee-tag'): string {
  const lines = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
  const keep = lines.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
  const to = lines.find((l) => /^To:/i.test(l)) ?? 'To: <sip:x@192.0.2.10>';
  return [
    `SIP/2.0 ${status}`,
    ...keep,
    /;tag=/.test(to) ? to : `${to};tag=${toTag}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Runs `body` with setTimeout/setInterval recorded (nothing armed for real); returns the delays. */
function armedDelays(body: () => void): number[] {
  const delays: number[] = [];
  const saved = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };
  const fake = ((_fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return { ref: () => undefined, unref: () => undefined, hasRef: () => false } as unknown as NodeJS.Timeout;
  }) as unknown as typeof setTimeout;
  globalThis.setTimeout = fake;
  globalThis.setInterval = fake as unknown as typeof setInterval;
  try {
    body();
  } finally {
    globalThis.setTimeout = saved.setTimeout;
    globalThis.setInterval = saved.setInterval;
  }
  return delays;
}

const transactionUser = { loggerFactory };
const noopTransport = new RecordingTransport();
function outgoing(method: string): Core.OutgoingRequestMessage {
  const target = new URI('sip', 'callee', '192.0.2.20');
  return new Core.OutgoingRequestMessage(method, target, new URI('sip', 'grok-sip', '127.0.0.1'), target, {
    callIdPrefix: '',
    cseq: 1,
    viaHost: '127.0.0.1',
  });
}

t.test('sip.js is pinned at exactly 0.21.2', async (t) => {
  const installed = JSON.parse(readFileSync(path.join(root, 'node_modules/sip.js/package.json'), 'utf8')) as {
    version: string;
  };
  const ours = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const why = guards('pin', 'every entry was checked against 0.21.2; an upgrade walks "Upgrading sip.js"');
  t.equal(installed.version, '0.21.2', why);
  t.equal(ours.dependencies['sip.js'], '0.21.2', `${why} (package.json: exact version, no range)`);
  t.equal(lock.packages['node_modules/sip.js']?.version, '0.21.2', `${why} (package-lock.json)`);
});

t.test(
  'Core.Timers: D/I/J/K ship as reliable-transport zeros, writable, read when a timer is armed',
  async (t) => {
    const why = (what: string): string => guards('G1 Core.Timers D/I/J/K, udpTimers()', what);
    t.notOk(Object.isFrozen(Core.Timers), why('Core.Timers is not frozen'));
    for (const name of [
      'T1',
      'T2',
      'T4',
      'TIMER_B',
      'TIMER_D',
      'TIMER_F',
      'TIMER_H',
      'TIMER_I',
      'TIMER_J',
    ] as const) {
      t.equal(typeof timers[name], 'number', why(`Core.Timers.${name} exists`));
    }
    for (const name of ['TIMER_K', 'TIMER_L', 'TIMER_M', 'TIMER_N'] as const) {
      t.equal(typeof timers[name], 'number', why(`Core.Timers.${name} exists`));
    }
    for (const name of ['TIMER_D', 'TIMER_I', 'TIMER_J', 'TIMER_K', 'TIMER_L'] as const) {
      t.equal(Object.getOwnPropertyDescriptor(Core.Timers, name)?.writable, true, why(`${name} is writable`));
    }
    // The gap: RFC 3261 Table 4 wants D ≥ 32 s, I = T4, J = 64*T1, K = T4 on UDP. If sip.js now
    // ships those (or per-transport values), udpTimers() in embedded-backend.ts may be redundant.
    for (const name of ['TIMER_D', 'TIMER_I', 'TIMER_J', 'TIMER_K'] as const) {
      t.equal(timers[name], 0, why(`sip.js still ships ${name} = 0 (the reliable-transport value)`));
    }
    t.equal(
      timers.T1,
      T1_MS,
      guards('T7/T8 Timers A/E/G, udp-retransmission.ts', 'sip.js T1 equals our T1_MS'),
    );
    t.equal(
      timers.T2,
      T2_MS,
      guards('T7/T8 Timers A/E/G, udp-retransmission.ts', 'sip.js T2 equals our T2_MS'),
    );
    t.equal(
      timers.TIMER_L,
      64 * timers.T1,
      guards('G3 Invitation.onAckTimeout', 'Timer L is 64*T1, the no-ACK deadline'),
    );

    // A mutation of the exported object must reach the transactions: they read Core.Timers when
    // they arm a timer (udpTimers() runs at start(), after sip.js was imported).
    const saved = { ...timers };
    const sentinel = { TIMER_D: 32_001, TIMER_I: 5_001, TIMER_J: 32_002, TIMER_K: 5_002 };
    Object.assign(timers, sentinel);
    try {
      // Timer K: non-INVITE client transaction entering Completed.
      const nict = { tx: undefined as unknown as Core.NonInviteClientTransaction };
      const nictStart = armedDelays(() => {
        nict.tx = new Core.NonInviteClientTransaction(outgoing('OPTIONS'), noopTransport, transactionUser);
      });
      const okText = responseTo(nict.tx.request.toString(), '200 OK');
      const nictDone = armedDelays(() => nict.tx.receiveResponse(parseResponse(okText)));
      t.same(nictDone, [sentinel.TIMER_K], why('Timer K is armed from Core.Timers.TIMER_K'));
      nict.tx.dispose();

      // Timer D: INVITE client transaction entering Completed (a 486).
      const ict = { tx: undefined as unknown as Core.InviteClientTransaction };
      const ictStart = armedDelays(() => {
        ict.tx = new Core.InviteClientTransaction(outgoing('INVITE'), noopTransport, {
          ...transactionUser,
          receiveResponse: () => undefined,
        });
      });
      const busy = responseTo(ict.tx.request.toString(), '486 Busy Here');
      const ictDone = armedDelays(() => ict.tx.receiveResponse(parseResponse(busy)));
      t.same(ictDone, [sentinel.TIMER_D], why('Timer D is armed from Core.Timers.TIMER_D'));
      ict.tx.dispose();

      // Timer J: non-INVITE server transaction entering Completed.
      const options = request('OPTIONS');
      const nist = new Core.NonInviteServerTransaction(parseRequest(options), noopTransport, transactionUser);
      const nistDone = armedDelays(() => nist.receiveResponse(200, responseTo(options, '200 OK')));
      t.same(nistDone, [sentinel.TIMER_J], why('Timer J is armed from Core.Timers.TIMER_J'));
      nist.dispose();

      // Timers H, then I: INVITE server transaction, a 486, then its ACK (same branch).
      const inviteText = invite({ branch: 'z9hG4bK-timer-i' });
      const ist = new Core.InviteServerTransaction(parseRequest(inviteText), noopTransport, transactionUser);
      const istCompleted = armedDelays(() =>
        ist.receiveResponse(486, responseTo(inviteText, '486 Busy Here')),
      );
      const ack = request('ACK', { branch: 'z9hG4bK-timer-i', toTag: 'callee-tag', contact: false });
      const istConfirmed = armedDelays(() => ist.receiveRequest(parseRequest(ack)));
      t.same(istConfirmed, [sentinel.TIMER_I], why('Timer I is armed from Core.Timers.TIMER_I'));
      ist.dispose();

      // And the gaps Timer A/E/G fill: nothing at T1 is armed where the RFC arms A, E and G.
      const aeg = (what: string): string => guards('T7/T8 Timers A/E/G, udp-retransmission.ts', what);
      t.same(ictStart, [timers.TIMER_B], aeg('an INVITE client transaction arms Timer B only (no Timer A)'));
      t.same(
        nictStart,
        [timers.TIMER_F],
        aeg('a non-INVITE client transaction arms Timer F only (no Timer E)'),
      );
      t.same(istCompleted, [timers.TIMER_H], aeg('a 3xx–6xx to INVITE arms Timer H only (no Timer G)'));
    } finally {
      Object.assign(timers, saved);
    }
  },
);

t.test('Timers A/E/G: still FIXMEs in the transaction sources', async (t) => {
  const why = (what: string): string => guards('T7/T8 Timers A/E/G, udp-retransmission.ts', what);
  t.match(
    source('core/transactions/invite-client-transaction.js'),
    '// FIXME: Timer A for unreliable transport not implemented',
    why('invite-client-transaction.js: Timer A FIXME'),
  );
  t.match(
    source('core/transactions/non-invite-client-transaction.js'),
    '// FIXME: Timer E for unreliable transports not implemented.',
    why('non-invite-client-transaction.js: Timer E FIXME'),
  );
  t.match(
    source('core/transactions/invite-server-transaction.js'),
    '// FIXME: Missing timer G for unreliable transports.',
    why('invite-server-transaction.js: Timer G FIXME'),
  );
  const emptyBody = /\)\s*\{\s*\/\/ TODO\s*\}$/;
  t.match(pristineTimerA, emptyBody, why('timerA() is an empty TODO'));
  t.match(pristineTimerG, emptyBody, why('timerG() is an empty TODO'));
});

t.test('the 2xx retransmission and ACK handling we rely on are still there', async (t) => {
  const why = (what: string): string => guards('R1 2xx retransmission until ACK', what);
  const dialog = source('core/dialogs/session-dialog.js');
  t.equal(typeof member(Core.SessionDialog, 'start2xxRetransmissionTimer'), 'function', why('exists'));
  t.equal(
    typeof Core.InviteServerTransaction.prototype.retransmitAcceptedResponse,
    'function',
    why('InviteServerTransaction.retransmitAcceptedResponse exists'),
  );
  t.match(dialog, 'transaction.retransmitAcceptedResponse();', why('SessionDialog re-sends the 2xx'));
  t.match(dialog, 'timeout = Math.min(timeout * 2, Timers.T2);', why('T1 doubling capped at T2'));
  t.match(
    dialog,
    /if \(this\.delegate && this\.delegate\.onAckTimeout\) \{\s*this\.delegate\.onAckTimeout\(\);/,
    guards('G3 Invitation.onAckTimeout', 'the no-ACK path still ends in delegate.onAckTimeout()'),
  );
  t.match(
    source('api/invitation.js'),
    'onAckTimeout: () => this.onAckTimeout(),',
    guards(
      'G3 Invitation.onAckTimeout',
      'the session delegate calls it late-bound (the prototype patch applies)',
    ),
  );
});

t.test('timer guards: every timerX method sip.js has is wrapped by guardSipJs()', async (t) => {
  const why = (what: string): string => guards('G2 guarded timer prototypes, guardSipJs()', what);
  const found = Object.fromEntries(
    Object.entries(TIMER_HOLDERS).map(([name, cls]) => [name, timerMethods(cls)]),
  );
  t.same(
    found,
    {
      InviteClientTransaction: ['timerA', 'timerB', 'timerD', 'timerM'],
      InviteServerTransaction: ['timerG', 'timerH', 'timerI', 'timerL'],
      NonInviteClientTransaction: ['timerF', 'timerK'],
      NonInviteServerTransaction: ['timerJ'],
      SubscribeUserAgentClient: ['timerN'],
      SubscriptionDialog: ['timerN'],
    },
    why('the timer methods of 0.21.2 (a new or renamed one must be guarded and documented)'),
  );
  // Every timer is armed as `setTimeout(() => this.timerX(), …)`: looked up on the prototype when
  // it fires, so a wrap installed at start() covers transactions created before and after it.
  const armed = new Set<string>();
  for (const file of [
    'core/transactions/invite-client-transaction.js',
    'core/transactions/invite-server-transaction.js',
    'core/transactions/non-invite-client-transaction.js',
    'core/transactions/non-invite-server-transaction.js',
    'core/user-agents/subscribe-user-agent-client.js',
    'core/dialogs/subscription-dialog.js',
  ]) {
    for (const m of source(file).matchAll(
      /setTimeout\(\(\) => this\.(timer[A-Z])\(\), Timers\.TIMER_[A-Z]\)/g,
    )) {
      armed.add(m[1]!);
    }
  }
  t.same(
    [...armed].sort(),
    ['timerB', 'timerD', 'timerF', 'timerH', 'timerI', 'timerJ', 'timerK', 'timerL', 'timerM', 'timerN'],
    why('every armed transaction timer calls this.timerX() late-bound'),
  );

  guardSipJs();
  const wrapped = new Map(
    Object.entries(TIMER_HOLDERS).map(([name, cls]) => [
      name,
      timerMethods(cls).map((m) => member(cls, m) as { name?: string } | undefined),
    ]),
  );
  for (const [name, fns] of wrapped) {
    for (const fn of fns) t.equal(fn?.name, 'guardedTimer', why(`${name} timer wrapped`));
  }
  t.same(
    guardedTimerNames().sort(),
    Object.values(TRANSACTION_CLASSES).flatMap(timerMethods).sort(),
    why('guardedTimerNames() lists every transaction timer'),
  );
  guardSipJs();
  for (const [name, cls] of Object.entries(TIMER_HOLDERS)) {
    const again = timerMethods(cls).map((m) => member(cls, m));
    t.same(again, wrapped.get(name), why(`${name}: guardSipJs() is idempotent (no double wrap)`));
  }
  // A timer that throws is counted as a sip-stack rejection and goes no further.
  const before = rejectedInputs.count('sip-stack');
  const timerB = member(Core.InviteClientTransaction, 'timerB') as (this: unknown) => unknown;
  t.doesNotThrow(() => timerB.call({}), why('a throwing timer does not throw out of the timer'));
  t.equal(rejectedInputs.count('sip-stack'), before + 1, why('it is counted as sip-stack'));
});

t.test(
  'Invitation.onAckTimeout: throws on a Terminated session in sip.js, returns once guarded',
  async (t) => {
    const why = (what: string): string => guards('G3 Invitation.onAckTimeout, guardSipJs()', what);
    t.equal(typeof pristineOnAckTimeout, 'function', why('Invitation.prototype.onAckTimeout exists'));
    let byes = 0;
    const ended = Object.assign(Object.create(Invitation.prototype) as object, {
      _state: SessionState.Terminated,
      _dialog: { bye: () => byes++ },
      logger,
    }) as unknown as Invitation;
    t.equal(
      ended.state,
      SessionState.Terminated,
      why('Session.state reads _state (the probe is Terminated)'),
    );
    t.throws(
      () => pristineOnAckTimeout.call(ended),
      /Invalid state transition from Terminated to Terminated/,
      why('sip.js still throws from the Timer L path on an ended session (the lost-ACK-then-BYE call)'),
    );
    guardSipJs();
    const patched = (Invitation.prototype as unknown as { onAckTimeout(): void }).onAckTimeout;
    t.not(patched, pristineOnAckTimeout, why('the prototype method is replaced'));
    byes = 0;
    t.doesNotThrow(() => patched.call(ended), why('the patched method returns on a Terminated session'));
    t.equal(byes, 0, why('and sends no BYE for a session already ended'));
  },
);

t.test('Via, Contact and the response Via check: what NodeTransport rewrites', async (t) => {
  const { ua, transport, stop } = await startUserAgent();
  t.teardown(stop);
  // sip.js writes Via without a port and Contact without port/transport; NodeTransport adds them.
  const options = ua.userAgentCore.makeOutgoingRequestMessage(
    'OPTIONS',
    new URI('sip', 'callee', '192.0.2.20'),
    ua.configuration.uri,
    new URI('sip', 'callee', '192.0.2.20'),
    {},
  );
  options.setViaHeader('z9hG4bK-via', 'UDP');
  t.match(
    options.toString(),
    /^Via: SIP\/2\.0\/UDP 127\.0\.0\.1;branch=z9hG4bK-via\r$/m,
    guards('T2 Via of our requests, NodeTransport #sendRequest', 'sip.js writes the top Via without a port'),
  );
  const contact = (what: string): string => guards('T4 Contact port, NodeTransport #fixContact', what);
  t.equal(
    ua.contact.toString(),
    '<sip:grok-sip@127.0.0.1>',
    contact('the Contact of our responses and of Invitation requests (the form #fixContact matches)'),
  );
  t.equal(
    ua.contact.toString({ outbound: true }),
    '<sip:grok-sip@127.0.0.1;ob>',
    contact('an Inviter (a call we place) writes the ;ob form, which #fixContact misses (K1)'),
  );

  // Responses: sip.js's UserAgent drops one whose top Via has a port or another host.
  const passed: string[] = [];
  const core = ua.userAgentCore;
  const receive = core.receiveIncomingResponseFromTransport.bind(core);
  core.receiveIncomingResponseFromTransport = (message) => {
    passed.push(message.via.host + (message.via.port === undefined ? '' : `:${message.via.port}`));
    receive(message);
  };
  const response = (sentBy: string): string =>
    [
      'SIP/2.0 200 OK',
      `Via: SIP/2.0/UDP ${sentBy};branch=z9hG4bK-nomatch`,
      'From: <sip:grok-sip@127.0.0.1>;tag=a',
      'To: <sip:callee@192.0.2.20>;tag=b',
      'Call-ID: via-check',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  transport.onMessage?.(response('127.0.0.1:5060'));
  transport.onMessage?.(response('198.51.100.1'));
  transport.onMessage?.(response('127.0.0.1'));
  t.same(
    passed,
    ['127.0.0.1'],
    guards(
      'T3 Via of incoming responses',
      'sip.js drops a response whose Via has a port or a host other than viaHost',
    ),
  );
  t.same(transport.take(), [], guards('T3 Via of incoming responses', 'and answers nothing'));
});

t.test(
  'UserAgentCore.receiveIncomingRequestFromTransport: the hook for the R-URI user rewrite',
  async (t) => {
    const why = (what: string): string => guards('I1 Request-URI user rewrite, #acceptAnyRequestUser', what);
    t.equal(
      typeof Core.UserAgentCore.prototype.receiveIncomingRequestFromTransport,
      'function',
      why('UserAgentCore.prototype.receiveIncomingRequestFromTransport exists'),
    );
    const { ua, transport, stop } = await startUserAgent();
    t.teardown(stop);
    transport.onMessage?.(request('OPTIONS', { ruri: 'sip:4711@127.0.0.1' }));
    t.same(
      transport.take(),
      ['SIP/2.0 404 Not Found'],
      why('sip.js answers 404 to a Request-URI user not its own'),
    );
    transport.onMessage?.(request('OPTIONS', { ruri: 'sips:grok-sip@127.0.0.1' }));
    t.same(
      transport.take(),
      ['SIP/2.0 416 Unsupported URI Scheme'],
      why('sip.js answers 416 to a sips: Request-URI (the rewrite makes it sip: once TLS carried it)'),
    );

    // The patch as EmbeddedBackend installs it: an own property that the UserAgent calls.
    const core = ua.userAgentCore;
    const receive = core.receiveIncomingRequestFromTransport.bind(core);
    const seen: string[] = [];
    core.receiveIncomingRequestFromTransport = (message: Core.IncomingRequestMessage) => {
      seen.push(message.ruri?.user ?? '');
      const ruri = message.ruri;
      if (ruri !== undefined) {
        const copy = ruri.clone();
        copy.user = 'grok-sip';
        copy.scheme = 'sip';
        message.ruri = copy;
      }
      receive(message);
    };
    transport.onMessage?.(request('OPTIONS', { ruri: 'sip:4711@127.0.0.1' }));
    t.same(seen, ['4711'], why('the UserAgent hands every request to the instance property'));
    t.same(transport.take(), ['SIP/2.0 200 OK'], why('with the user rewritten the same request is answered'));
    transport.onMessage?.(request('OPTIONS', { ruri: 'sips:grok-sip@127.0.0.1' }));
    t.same(
      transport.take(),
      ['SIP/2.0 200 OK'],
      why('with the scheme rewritten a sips: request is answered'),
    );
  },
);

t.test('authenticationFactory: read from the core configuration at each challenge', async (t) => {
  const why = (what: string): string =>
    guards('I2/I3 authenticationFactory per account and per call; R5 digest', what);
  const { ua, transport, stop } = await startUserAgent();
  t.teardown(stop);
  const configuration = ua.userAgentCore.configuration;
  t.equal(
    typeof configuration.authenticationFactory,
    'function',
    why('configuration.authenticationFactory exists'),
  );
  let asked = 0;
  configuration.authenticationFactory = () => {
    asked++;
    return new Core.DigestAuthentication(ua.getLoggerFactory(), undefined, 'bot', 'botpass');
  };
  const registrar = new URI('sip', undefined as unknown as string, '192.0.2.30');
  const aor = new URI('sip', 'bot', '192.0.2.30');
  const register = ua.userAgentCore.makeOutgoingRequestMessage(
    'REGISTER',
    registrar,
    aor,
    aor,
    {},
    [],
    undefined,
  );
  ua.userAgentCore.register(register, {});
  const [first] = transport.sent.splice(0);
  t.ok(
    first?.startsWith('REGISTER '),
    why('core.register sends the REGISTER (I4 uses the core, not Registerer)'),
  );
  const challenge = responseTo(first ?? '', '401 Unauthorized').replace(
    'Content-Length: 0',
    'WWW-Authenticate: Digest realm="192.0.2.30", nonce="abc", qop="auth", algorithm=MD5\r\nContent-Length: 0',
  );
  transport.onMessage?.(challenge);
  const [second] = transport.sent.splice(0);
  t.equal(asked, 1, why('the factory is called when the challenge arrives (so it can pick by From)'));
  t.match(
    second ?? '',
    /^Authorization: Digest .*username="bot".*realm="192\.0\.2\.30"/m,
    why('DigestAuthentication(loggerFactory, ha1, username, password) still answers the challenge'),
  );
  t.match(
    source('core/user-agents/user-agent-client.js'),
    'this.credentials = this.core.configuration.authenticationFactory();',
    why('UserAgentClient asks the factory, one credentials object per request'),
  );
});

t.test('pre-screen: what sip.js does with the requests NodeTransport answers first', async (t) => {
  const { ua, transport, invitations, stop } = await startUserAgent();
  t.teardown(stop);
  /** What sip.js does with one request: 'throws: …', the status lines it sent, or 'onInvite'. */
  const outcome = (text: string): string => {
    const before = invitations.length;
    try {
      transport.onMessage?.(text);
    } catch (err) {
      transport.take();
      return `throws: ${(err as Error).message}`;
    }
    const sent = transport.take().filter((line) => line !== 'SIP/2.0 100 Trying');
    return invitations.length > before ? ['onInvite', ...sent].join(', ') : sent.join(', ') || 'nothing';
  };
  const p3 = (what: string): string => guards('P3 Request-URI refusals, refuseRequest', what);
  const p4 = (what: string): string => guards('P4 methods we do not serve, refuseRequest', what);

  // The brief's own case: the core throws on a parsed request without a Request-URI.
  const noRuri = parseRequest(request('OPTIONS', { ruri: 'tel:+15550100' }));
  t.equal(noRuri.ruri, undefined, p3('sip.js parses a tel: Request-URI to undefined'));
  t.throws(
    () =>
      (member(Core.UserAgentCore, 'receiveRequest') as (m: unknown) => void).call(ua.userAgentCore, noRuri),
    /^Request-URI undefined\.$/,
    p3('UserAgentCore.receiveRequest throws "Request-URI undefined." (→ we answer 416/400 first)'),
  );
  t.match(
    source('core/user-agent-core/user-agent-core.js'),
    '// FIXME: A request message should always have an ruri',
    p3('the FIXME above that throw'),
  );
  t.equal(
    outcome(request('OPTIONS', { ruri: 'sip:grok-sip@256.256.256.256' })),
    'throws: Request-URI undefined.',
    p3('an unreadable sip: Request-URI throws (→ 400)'),
  );
  t.equal(
    outcome(request('ACK', { ruri: 'sip:grok-sip@256.256.256.256', toTag: 'x' })),
    'throws: Request-URI undefined.',
    p3('so does an ACK with one (→ dropped)'),
  );
  t.equal(
    outcome(request('PRACK')),
    'throws: Unexpected out of dialog request method PRACK.',
    p4('an out-of-dialog PRACK throws (→ 481)'),
  );
  t.match(
    String(member(Session, 'onPrackRequest')),
    'throw new Error("Unimplemented.")',
    p4('an in-dialog PRACK throws "Unimplemented." in the session (→ 481)'),
  );
  t.equal(
    outcome(request('FOO')),
    'SIP/2.0 405 Method Not Allowed',
    guards('P2 version and method, refuseStartLine', 'an unknown method gets 405 (→ 501)'),
  );
  t.equal(
    outcome(request('INFO')),
    'SIP/2.0 405 Method Not Allowed',
    p4('INFO out of dialog gets 405 (→ 481)'),
  );
  t.equal(outcome(request('MESSAGE')), 'SIP/2.0 200 OK', p4('MESSAGE out of dialog is accepted (→ 405)'));
  t.equal(
    outcome(request('OPTIONS', { version: 'SIP/7.0' })),
    'SIP/2.0 200 OK',
    guards('P2 version and method, refuseStartLine', 'another SIP version is not checked (→ 505)'),
  );
  t.equal(
    outcome(invite({ contact: false })),
    'SIP/2.0 400 Missing Contact Header',
    guards('P7 rfc2543Contact', 'an INVITE without Contact (RFC 2543) gets 400 (→ we write the From URI in)'),
  );
  t.equal(
    outcome(invite({ headers: ['Require: 100rel'] })),
    'onInvite',
    guards('P6 Require → 420', 'Require is not checked (→ 420)'),
  );
  t.equal(
    outcome(invite({ headers: ['Content-Encoding: gzip'] })),
    'onInvite',
    guards('P5 bodies and Accept', 'Content-Encoding is not checked (→ 415)'),
  );
  t.equal(
    outcome(invite({ headers: ['Accept: text/plain'] })),
    'onInvite',
    guards('P5 bodies and Accept', 'Accept is not checked (→ 406)'),
  );
  t.match(
    source('core/user-agent-core/user-agent-core.js'),
    /\/\/ 8\.2\.2\.3 Require\s+\/\/ https:\/\/tools\.ietf\.org\/html\/rfc3261#section-8\.2\.2\.3\s+\/\/ TODO/,
    guards('P6 Require → 420', '§8.2.2.3 Require is still a TODO in UserAgentCore.receiveRequest'),
  );
});

t.test('transaction matching: sip.js keys server transactions on the Via branch alone', async (t) => {
  const { transport, invitations, stop } = await startUserAgent();
  t.teardown(stop);
  const why = (what: string): string => guards('P8 transaction key, transaction-key.ts', what);
  t.match(
    source('core/user-agent-core/user-agent-core.js'),
    'const transactionId = message.viaBranch; // FIXME: Currently only using rule 1...',
    why('the FIXME on the branch-only lookup'),
  );
  const branch = 'z9hG4bK-shared';
  transport.onMessage?.(invite({ branch, callId: 'first' }));
  t.equal(invitations.length, 1, why('the first INVITE is a call'));
  transport.take();
  transport.onMessage?.(invite({ branch, callId: 'second', sentBy: '192.0.2.99:5070' }));
  t.equal(invitations.length, 1, why('another INVITE from another sent-by on the same branch is swallowed'));
  t.same(transport.take(), ['SIP/2.0 100 Trying'], why('…answered as a retransmission of the first'));
  transport.onMessage?.(request('OPTIONS', { branch, callId: 'third' }));
  t.same(
    transport.take(),
    [],
    why('an OPTIONS on that branch is absorbed by the INVITE transaction, never answered'),
  );

  // What transaction-key.ts relies on: a CANCEL carrying its INVITE's (keyed) branch is matched by
  // that lookup and answered 200 + 487 by sip.js itself.
  transport.onMessage?.(request('CANCEL', { branch, callId: 'first', contact: false }));
  t.same(
    transport.take().sort(),
    ['SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated'],
    guards('R3 ACK and CANCEL', 'a CANCEL with the INVITE branch is matched: 200 for it, 487 for the INVITE'),
  );
});

t.test('sendInitialProvisionalResponse: false still means no automatic 180', async (t) => {
  const { transport, invitations, stop } = await startUserAgent();
  t.teardown(stop);
  transport.onMessage?.(invite());
  t.equal(invitations.length, 1, guards('I5 UserAgent options', 'onInvite is called'));
  t.same(
    transport.take(),
    ['SIP/2.0 100 Trying'],
    guards('I5 UserAgent options', 'only 100 Trying before onInvite; the 180 is ours'),
  );
});

// sip-config/examples/kamailio-front.cfg: the shipped file passes `kamailio -c` (and a broken copy
// does not), and run for real (its port and GROKSIP moved to this test's) in front of a grok-sip
// embedded backend it relays a call with Record-Route, answers its own OPTIONS keepalive, drops a
// scanner silently and bans it, answers REGISTER & co. 405, answers 503 + Retry-After past the
// overall INVITE rate, and cuts a one-source flood with pike (then drops that source silently).
// Every client has its own loopback address (127.0.0.x), since pike and the ban work per source IP.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { IncomingCall } from '../../src/signaling/signaling-backend.js';
import { startKamailio } from '../sip/support/kamailio.js';
import { header, offer, request, statusOf } from '../sip/support/raw-sip.js';
import { runPeer, runSipp } from '../sip/support/run-peer.js';
import { answerFor, startEndpoint, type Tap } from '../sip/support/sip-endpoint.js';

const CFG = fileURLToPath(new URL('../../sip-config/examples/kamailio-front.cfg', import.meta.url));
const SIPP_DIR = fileURLToPath(new URL('../../sip-config/sipp/', import.meta.url));
const KAM = 21900;
const SIPP_PORT = 21901;
const BACKEND_IP = '127.0.0.5';
const BACKEND_PORT = 21910;
/** The shipped values (the test runs the file with them unchanged). */
const INVITES_PER_SEC = 50;
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY';

t.test('the shipped kamailio-front.cfg passes kamailio -c', async (t) => {
  const check = await runPeer(t, 'kamailio', ['-c', '-f', CFG], { timeoutMs: 20_000 }).done;
  const out = check.stdout + check.stderr;
  t.equal(check.code, 0, `kamailio -c exit 0 ${check.code === 0 ? '' : out.slice(-400)}`);
  t.match(out, /config file ok/, 'config file ok');
  t.match(out, /udp: 127\.0\.0\.1 \[127\.0\.0\.1\]:5080/, 'listens on udp 127.0.0.1:5080 as shipped');
  t.match(out, /tcp: 127\.0\.0\.1 \[127\.0\.0\.1\]:5080/, 'and tcp');
  const text = readFileSync(CFG, 'utf8');
  t.match(text, /^#!define GROKSIP "sip:127\.0\.0\.1:5060"$/m, 'grok-sip destination as a define');
  t.match(
    text,
    new RegExp(`^#!substdef "!INVITES_PER_SEC!${INVITES_PER_SEC}!g"$`, 'm'),
    'the INVITE rate this test expects',
  );
});

t.test('a broken copy fails kamailio -c (the check can fail)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-kamcheck-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'front.cfg');
  const text = readFileSync(CFG, 'utf8');
  for (const [name, broken] of [
    ['unknown function', text.replace('pike_check_req()', 'pike_check_reqx()')],
    ['unbalanced brace', text.replace('route[RATE_LIMITED] {', 'route[RATE_LIMITED] {{')],
  ] as const) {
    t.not(broken, text, `${name}: the copy differs`);
    writeFileSync(cfg, broken);
    const check = await runPeer(t, 'kamailio', ['-c', '-f', cfg], { timeoutMs: 20_000 }).done;
    t.not(check.code, 0, `${name}: kamailio -c fails`);
  }
});

/** A UDP client on its own loopback address, talking to the proxy. */
class Client {
  readonly received: string[] = [];
  port = 0;
  private readonly socket: Socket = createSocket('udp4');
  private seq = 0;

  private constructor(readonly address: string) {}

  static async open(t: Tap, address: string): Promise<Client> {
    const c = new Client(address);
    await new Promise<void>((resolve) => c.socket.bind(0, address, resolve));
    c.port = c.socket.address().port;
    c.socket.on('message', (b) => c.received.push(b.toString()));
    t.teardown(() => c.socket.close());
    return c;
  }

  /** Sends a request to the proxy; returns its Call-ID. */
  send(method: string, user: string | null, extra: string[] = [], body?: string): string {
    const n = ++this.seq;
    const callId = `${method.toLowerCase()}-${this.address}-${n}@front-test`;
    const uri = user === null ? `sip:127.0.0.1:${KAM}` : `sip:${user}@127.0.0.1:${KAM}`;
    this.socket.send(
      request(
        {
          method,
          uri,
          branch: `z9hG4bK-${this.address.replaceAll('.', '-')}-${n}`,
          callId,
          cseq: 1,
          host: this.address,
          extra,
          ...(body !== undefined && { body }),
        },
        this.port,
      ),
      KAM,
      '127.0.0.1',
    );
    return callId;
  }

  invite(user: string, extra: string[] = []): string {
    return this.send('INVITE', user, extra, offer('g711'));
  }

  /** First final response (>= 200) per Call-ID; tm's retransmissions of it are not counted again. */
  finals(): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of this.received) {
      const id = header(m, 'Call-ID');
      if (id !== undefined && statusOf(m) >= 200 && !out.has(id)) out.set(id, m);
    }
    return out;
  }

  final(callId: string): string | undefined {
    return this.finals().get(callId);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function finalFor(c: Client, callId: string, timeoutMs = 3000): Promise<string | undefined> {
  const start = Date.now();
  while (c.final(callId) === undefined && Date.now() - start < timeoutMs) await sleep(20);
  return c.final(callId);
}

const fromEdge = (m: string | undefined): boolean => header(m ?? '', 'Server') === 'grok-sip-edge';

t.test('in front of grok-sip', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-front-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const shipped = readFileSync(CFG, 'utf8');
  const copy = shipped
    .replaceAll('listen=udp:127.0.0.1:5080', `listen=udp:127.0.0.1:${KAM}`)
    .replaceAll('listen=tcp:127.0.0.1:5080', `listen=tcp:127.0.0.1:${KAM}`)
    .replace('#!define GROKSIP "sip:127.0.0.1:5060"', `#!define GROKSIP "sip:${BACKEND_IP}:${BACKEND_PORT}"`);
  t.equal(copy.split(`127.0.0.1:${KAM}`).length - 1, 2, 'both listen lines moved to the test port');
  t.match(copy, `#!define GROKSIP "sip:${BACKEND_IP}:${BACKEND_PORT}"`, 'GROKSIP moved to the test backend');
  const cfg = join(dir, 'front.cfg');
  writeFileSync(cfg, copy);

  // grok-sip on its own address, its own per-source limit out of the way: every INVITE the proxy
  // lets through is counted here. User 4000 is answered; anyone else gets 486.
  const backend = await startEndpoint(t, BACKEND_PORT, {
    listen: [
      { transport: 'udp', address: BACKEND_IP, port: BACKEND_PORT },
      { transport: 'tcp', address: BACKEND_IP, port: BACKEND_PORT },
    ],
    limits: { requestsPerSec: 100_000, requestBurst: 100_000 },
  });
  const calls: IncomingCall[] = [];
  const ended: string[] = [];
  backend.onIncomingCall((call) => {
    calls.push(call);
    if (call.dialledUser !== '4000' && call.dialledUser !== '4001') return call.reject(486);
    call.progress();
    const answer = answerFor(call.offerSdp);
    if (answer.kind === 'reject') return call.reject(answer.status);
    call.answer(answer.sdp).then(
      (dialog) => {
        dialog.events.on('terminated', ({ reason }) => ended.push(reason));
        // 4001: grok-sip hangs up, its BYE goes out through the proxy.
        if (call.dialledUser === '4001') setTimeout(() => void dialog.hangup(), 300);
      },
      () => undefined,
    );
  });
  // The copy has no 127.0.0.1:5060 left for the fixture to move outside comments.
  const kam = await startKamailio(t, KAM, { cfg });

  await t.test('a call goes through to grok-sip and back, ACK and BYE on the Record-Route', async (t) => {
    const call = await runSipp(t, `127.0.0.1:${KAM}`, [
      '-sf',
      `${SIPP_DIR}uac_proxy.xml`,
      '-s',
      '4000',
      '-i',
      '127.0.0.2',
      '-p',
      String(SIPP_PORT),
      '-m',
      '1',
    ]);
    t.equal(
      call.code,
      0,
      `SIPp call through the proxy rc 0 ${call.code === 0 ? '' : `${call.errors ?? ''} ${kam.log().slice(-600)}`}`,
    );
    t.equal(calls.length, 1, 'the INVITE reached grok-sip');
    t.equal(calls[0]?.dialledUser, '4000', 'with the dialled user unchanged');
    t.equal(calls[0]?.source.address, '127.0.0.1', 'from the proxy');
    t.match(
      calls[0]?.header('Record-Route') ?? '',
      new RegExp(`^<sip:127\\.0\\.0\\.1:${KAM};lr`),
      'the proxy record-routed it',
    );
    t.same(ended, ['remote-bye'], 'the BYE came through the proxy to grok-sip');
  });

  await t.test('grok-sip hangs up: its BYE goes back through the proxy to the caller', async (t) => {
    const before = calls.length;
    const call = await runSipp(t, `127.0.0.1:${KAM}`, [
      '-sf',
      `${SIPP_DIR}uac_proxy_recv_bye.xml`,
      '-s',
      '4001',
      '-i',
      '127.0.0.2',
      '-p',
      String(SIPP_PORT + 1),
      '-m',
      '1',
    ]);
    t.equal(
      call.code,
      0,
      `SIPp got grok-sip's BYE via the proxy ${call.code === 0 ? '' : `${call.errors ?? ''} ${kam.log().slice(-600)}`}`,
    );
    t.equal(calls.length, before + 1, 'one more call at grok-sip');
    t.same(ended.slice(-1), ['local-bye'], 'grok-sip ended it with BYE');
  });

  await t.test('OPTIONS keepalive to the proxy is answered by the proxy', async (t) => {
    const c = await Client.open(t, '127.0.0.3');
    const before = calls.length;
    const ping = await finalFor(c, c.send('OPTIONS', null));
    t.equal(statusOf(ping ?? ''), 200, 'OPTIONS sip:proxy → 200');
    t.ok(fromEdge(ping), `answered by the proxy (Server: ${header(ping ?? '', 'Server')})`);
    const relayed = await finalFor(c, c.send('OPTIONS', '4000'));
    t.equal(statusOf(relayed ?? ''), 200, 'OPTIONS sip:4000@proxy → 200');
    t.notOk(fromEdge(relayed), 'answered by grok-sip behind it, not by the proxy');
    t.equal(calls.length, before, 'no call');
  });

  await t.test('a scanner gets no answer, and its address is banned', async (t) => {
    const scanner = await Client.open(t, '127.0.0.4');
    const other = await Client.open(t, '127.0.0.7');
    const before = calls.length;
    const scan = scanner.send('OPTIONS', '100', ['User-Agent: friendly-scanner']);
    const scan2 = other.invite('100', ['User-Agent: SIPVicious 0.3.4']);
    await sleep(1500);
    t.equal(scanner.received.length, 0, `friendly-scanner: no answer at all ${scanner.received[0] ?? ''}`);
    t.equal(other.received.length, 0, 'SIPVicious (any case): no answer at all');
    t.equal(calls.length, before, 'nothing reached grok-sip');
    t.notOk(scanner.final(scan) ?? other.final(scan2), 'no final response to either');
    // Same address, ordinary User-Agent: still dropped (banned), while another address gets in.
    scanner.invite('100', ['User-Agent: Linphone/5.0']);
    const clean = await Client.open(t, '127.0.0.8');
    const ok = await finalFor(clean, clean.invite('100', ['User-Agent: Linphone/5.0']));
    await sleep(500);
    t.equal(scanner.received.length, 0, 'the scanner address stays dropped with a normal User-Agent');
    t.equal(statusOf(ok ?? ''), 486, "a clean address gets grok-sip's answer");
    t.equal(calls.length, before + 1, 'only the clean INVITE reached grok-sip');
    t.match(kam.log(), /scanner 'friendly-scanner' from 127\.0\.0\.4, banned/, 'the proxy logged the ban');
  });

  await t.test("REGISTER, SUBSCRIBE, PUBLISH, MESSAGE: 405 with grok-sip's Allow", async (t) => {
    const c = await Client.open(t, '127.0.0.6');
    for (const method of ['REGISTER', 'SUBSCRIBE', 'PUBLISH', 'MESSAGE']) {
      const reply = await finalFor(
        c,
        c.send(method, 'bot', method === 'SUBSCRIBE' ? ['Event: presence'] : []),
      );
      t.equal(statusOf(reply ?? ''), 405, `${method} → 405`);
      t.equal(header(reply ?? '', 'Allow'), ALLOW, `${method}: Allow lists what grok-sip serves`);
      t.ok(fromEdge(reply), `${method}: answered by the proxy`);
    }
    // Out of a dialog, BYE is refused the same way (nothing for grok-sip to match).
    t.equal(statusOf((await finalFor(c, c.send('BYE', 'bot'))) ?? ''), 405, 'BYE without To-tag → 405');
  });

  await t.test('overall INVITE rate: past INVITES_PER_SEC, 503 with Retry-After', async (t) => {
    // 10 sources × 15 INVITEs in one burst: each source stays under pike's 30 per 2 s, together
    // they are three times the per-second limit.
    await sleep(1100); // a fresh ratelimit interval
    const clients = await Promise.all(
      Array.from({ length: 10 }, (_, i) => Client.open(t, `127.0.0.${10 + i}`)),
    );
    const before = calls.length;
    const sent: Array<[Client, string]> = [];
    for (let round = 0; round < 15; round++) {
      for (const c of clients) sent.push([c, c.invite('200')]);
    }
    const start = Date.now();
    while (Date.now() - start < 4000 && sent.some(([c, id]) => c.final(id) === undefined)) await sleep(50);
    const finals = sent.map(([c, id]) => c.final(id));
    const reached = calls.length - before;
    const limited = finals.filter((m) => statusOf(m ?? '') === 503);
    const busy = finals.filter((m) => statusOf(m ?? '') === 486).length;
    t.comment(
      `spread burst: sent ${sent.length}, reached grok-sip ${reached}, 503 ${limited.length}, 486 ${busy}`,
    );
    t.equal(finals.filter((m) => m === undefined).length, 0, 'every INVITE got an answer (no pike drop)');
    t.ok(reached >= INVITES_PER_SEC / 2, `some got through (${reached})`);
    t.ok(reached <= 2 * INVITES_PER_SEC, `at most two intervals' worth got through (${reached})`);
    t.equal(busy, reached, 'each one that reached grok-sip got its 486 back');
    t.equal(limited.length, sent.length - reached, 'the rest: 503');
    t.ok(limited.length > 0, 'some were rate limited');
    t.ok(
      limited.every((m) => fromEdge(m) && header(m!, 'Retry-After') === '5'),
      '503 from the proxy with Retry-After: 5',
    );
    t.ok(
      limited.every((m) => / 503 Rate Limited\r\n/.test(m!.split('\r\n')[0] + '\r\n')),
      'reason Rate Limited',
    );
    t.notMatch(kam.log(), /pike: flood from 127\.0\.0\.1\d/, 'pike did not flag the spread sources');
  });

  await t.test('a flood from one source is cut by pike, then the source is dropped', async (t) => {
    await sleep(1100);
    const flooder = await Client.open(t, '127.0.0.20');
    const before = calls.length;
    const sent: string[] = [];
    // 300 INVITEs in one second: 30 every 100 ms.
    for (let tick = 0; tick < 10; tick++) {
      for (let i = 0; i < 30; i++) sent.push(flooder.invite('300'));
      await sleep(100);
    }
    await sleep(2000);
    const finals = sent.map((id) => flooder.final(id));
    const reached = calls.length - before;
    const limited = finals.filter((m) => statusOf(m ?? '') === 503).length;
    const busy = finals.filter((m) => statusOf(m ?? '') === 486).length;
    const silent = finals.filter((m) => m === undefined).length;
    t.comment(
      `flood: sent ${sent.length}, reached grok-sip ${reached}, 486 back ${busy}, 503 ${limited}, no answer ${silent}`,
    );
    t.ok(reached > 0, 'the first INVITEs got through');
    t.ok(reached <= 100, `far fewer than sent reached grok-sip (${reached} of ${sent.length})`);
    t.equal(busy, reached, 'each one that reached grok-sip got its answer back');
    t.equal(limited + silent, sent.length - reached, 'the rest: 503 or silence');
    t.ok(silent >= sent.length / 2, `most got no answer at all (${silent})`);
    t.match(kam.log(), /pike: flood from 127\.0\.0\.20 \(INVITE\), banned/, 'pike flagged the source');

    // Banned: quiet now, yet a single INVITE from the same address still gets nothing, while a
    // neighbour address gets through.
    await sleep(2500);
    const afterBefore = calls.length;
    const late = flooder.invite('300');
    const neighbour = await Client.open(t, '127.0.0.21');
    const ok = await finalFor(neighbour, neighbour.invite('300'));
    await sleep(500);
    t.equal(flooder.final(late), undefined, 'the flooding address is still dropped once quiet (ban)');
    t.equal(statusOf(ok ?? ''), 486, 'another address is served');
    t.equal(calls.length, afterBefore + 1, 'only the neighbour reached grok-sip');
  });
});

// Who gets in, through the whole app (config → inbound policy → backend → routing → SDP):
// a source outside sip.inbound.allow gets 403 (or nothing), digest-protected INVITEs get 401,
// an unrouted user 404, an offer without G.711 488, unreadable SDP 400 — each refused call with
// its CDR — and a routed call with G.711 is answered.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { header, offer, request, statusOf, UdpPeer } from '../sip/support/raw-sip.js';

const agents = `agents:
  profiles: [{ name: sales, instructions: Sell. }]
  routes: [{ match: sales, agent: sales }]
`;

async function app(
  t: { teardown(fn: () => unknown): void },
  sipPort: number,
  sip: string,
  extra = '',
): Promise<{ records: CallDetailRecord[]; stop: () => Promise<void> }> {
  const started = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }], ${sip} }
media: { rtpAddress: 127.0.0.1, portMin: ${sipPort + 7000}, portMax: ${sipPort + 7099} }
${agents}${extra}`,
      {},
    ),
  );
  let stopped: Promise<void> | undefined;
  // stop() ends the backend and flushes the CDR file (CallDetailLog.flush): once, here or in teardown.
  const stop = (): Promise<void> => (stopped ??= started.stop());
  t.teardown(stop);
  const records: CallDetailRecord[] = [];
  started.events.on('call-ended', (r) => records.push(r));
  return { records, stop };
}

let n = 0;
function invite(
  peer: UdpPeer,
  sipPort: number,
  user: string,
  body = offer('g711'),
  extra: string[] = [],
): string {
  n++;
  const callId = `admission-${n}`;
  peer.send(
    request(
      {
        method: 'INVITE',
        uri: `sip:${user}@127.0.0.1:${sipPort}`,
        branch: `z9hG4bKadm${n}`,
        callId,
        cseq: 1,
        body,
        extra,
      },
      peer.port,
    ),
    sipPort,
  );
  return callId;
}

async function finalStatus(peer: UdpPeer, callId: string): Promise<string | undefined> {
  const [final] = await peer.waitFor((m) => m.includes(`Call-ID: ${callId}`) && statusOf(m) >= 200, 1, 5000);
  return final;
}

t.test('sources outside the allow-list: 403 or silence', async (t) => {
  await app(t, 18900, `inbound: { allow: [10.0.0.0/8], onReject: 403 }`);
  const peer = await UdpPeer.open(t);
  t.equal(statusOf((await finalStatus(peer, invite(peer, 18900, 'sales'))) ?? ''), 403, '403 Forbidden');

  await app(t, 18901, `inbound: { allow: [10.0.0.0/8], onReject: drop }`);
  const quiet = await UdpPeer.open(t);
  invite(quiet, 18901, 'sales');
  await new Promise((r) => setTimeout(r, 1500));
  t.same(quiet.received, [], 'dropped: not even 100 Trying');
});

t.test('digest on INVITE: 401 with a challenge', async (t) => {
  await app(
    t,
    18902,
    `inbound: { allow: [127.0.0.1/32], digest: { realm: grok.example, users: [{ username: pbx, password: secret }] } }`,
  );
  const peer = await UdpPeer.open(t);
  const callId = invite(peer, 18902, 'sales');
  const final = (await finalStatus(peer, callId)) ?? '';
  t.equal(statusOf(final), 401);
  t.match(header(final, 'WWW-Authenticate') ?? '', /^Digest realm="grok\.example".*qop="auth"/);
  // Stateless: one 401 per INVITE, never retransmitted (Timer G would send ~10 over 32 s to
  // whatever source an attacker spoofs: reflection).
  await new Promise((r) => setTimeout(r, 1800));
  t.equal(peer.received.filter((m) => m.includes(`Call-ID: ${callId}`) && statusOf(m) === 401).length, 1);
});

t.test('routing and SDP refusals, each with a CDR', async (t) => {
  const cdrFile = path.join(t.testdir(), 'cdr.jsonl');
  const { records, stop } = await app(t, 18903, 'maxCalls: 10', `cdr: { file: '${cdrFile}' }\n`);
  const peer = await UdpPeer.open(t);
  const cases: [string, string, number][] = [
    ['nobody', offer('g711'), 404],
    ['sales', offer('g729'), 488],
    ['sales', 'v=0\r\nthis is not sdp\r\n', 400],
  ];
  for (const [user, body, status] of cases) {
    const final = await finalStatus(peer, invite(peer, 18903, user, body));
    t.equal(
      statusOf(final ?? ''),
      status,
      `${user} with ${body.slice(0, 30).replace(/\r\n/g, ' ')}… → ${status}`,
    );
  }
  t.same(
    records.map((r) => [r.sipStatus, r.endReason, r.agent ?? null]),
    [
      [404, 'rejected', null],
      [488, 'rejected', 'sales'],
      [400, 'rejected', 'sales'],
    ],
    'one CDR per refused call',
  );
  await stop(); // awaits the CDR file's writes
  const lines = readFileSync(cdrFile, 'utf8').trim().split('\n');
  t.same(
    lines.map((l) => (JSON.parse(l) as CallDetailRecord).sipStatus),
    [404, 488, 400],
    'and one JSON line each in cdr.file',
  );

  await app(t, 18903, 'maxCalls: 10');
  const callId = invite(peer, 18903, 'sales');
  const ok = await finalStatus(peer, callId);
  t.equal(statusOf(ok ?? ''), 200, 'a routed G.711 call is answered');
  t.match(ok ?? '', /m=audio \d+ RTP\/AVP 0/, 'with a PCMU answer');
});

t.test('agent unreachable: 503 with sip.retryAfterSec, CDR agent-failed', async (t) => {
  const started = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: 18904 }], retryAfterSec: 9 }
media: { rtpAddress: 127.0.0.1, portMin: 25904, portMax: 25999 }
realtime: { url: 'ws://127.0.0.1:9/v1/realtime' }
${agents}`,
      { XAI_API_KEY: 'test-not-a-key' },
    ),
  );
  t.teardown(() => started.stop());
  const records: CallDetailRecord[] = [];
  started.events.on('call-ended', (r) => records.push(r));
  const peer = await UdpPeer.open(t);
  const final = (await finalStatus(peer, invite(peer, 18904, 'sales'))) ?? '';
  t.equal(statusOf(final), 503);
  t.equal(header(final, 'Retry-After'), '9');
  while (records.length === 0) await new Promise((r) => setTimeout(r, 20));
  t.match(records[0], { endReason: 'agent-failed', sipStatus: 503 });
});

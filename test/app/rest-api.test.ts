// The REST API on a real HTTP listener with a real SIPp callee: bearer auth (none, wrong, right),
// problem+json errors naming the field, a call placed, listed, read and hung up, an inbound SIPp
// call in the same list, and the OpenAPI document: its operations are exactly the server's routes,
// and every status this test got back is one the document lists for that operation.
// Ports: SIP 37300, HTTP 37301, RTP 37310-37349, SIPp callees 37320, 37322 (media 37330, 37332), SIPp callers 37321, 37323-37324 (media 37333-37334).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import { startObservability, type Observability } from '../../src/app/observability-wiring.js';
import { API_ROUTES } from '../../src/app/rest-api.js';
import { parseConfig } from '../../src/config/load-config.js';
import { logger } from '../../src/observability/logger.js';
import { runPeer, runSipp } from '../sip/support/run-peer.js';
import type { Tap } from '../sip/support/sip-endpoint.js';

const token = 'test-token-0123456789abcdef';
const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37300 }]
media: { rtpAddress: 127.0.0.1, portMin: 37310, portMax: 37349, workers: 0 }
http: { address: 127.0.0.1, port: 37301 }
agents:
  profiles:
    - { name: survey, instructions: "Ask {{customer}} one question.", audioFormat: auto }
  routes:
    - { match: survey, agent: survey }
trunks:
  - { name: lab, proxy: "sip:127.0.0.1:37320" }
  - { name: transfer, proxy: "sip:127.0.0.1:37322" }
`,
  {},
);

let app: GrokSipApp;
let observability: Observability;
t.before(async () => {
  observability = await startObservability(config, logger, { apiToken: token });
  app = await startGrokSip(config, { observer: observability.observer });
  observability.attach(app);
});
t.teardown(async () => {
  await app.stop();
  await observability.close();
});

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  body: Record<string, unknown>;
}
/** Every (method, route template, status) the server answered, for the OpenAPI check. */
const seen: { method: string; route: string; status: number }[] = [];

function templateOf(p: string): string {
  if (/^\/v1\/calls\/[^/]+\/transfer$/.test(p)) return '/v1/calls/{id}/transfer';
  if (/^\/v1\/calls\/[^/]+$/.test(p)) return '/v1/calls/{id}';
  return p;
}

async function api(
  method: string,
  p: string,
  options: { body?: unknown; auth?: string | null; type?: string; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? `Bearer ${token}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined;
  if (options.raw !== undefined || options.body !== undefined) {
    headers['content-type'] = options.type ?? 'application/json';
    body = options.raw ?? JSON.stringify(options.body);
  }
  const res = await fetch(`${observability.url}${p}`, {
    method,
    headers,
    ...(body !== undefined && { body }),
  });
  const text = await res.text();
  seen.push({ method, route: templateOf(p), status: res.status });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    headers: res.headers,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

async function until(check: () => Promise<boolean>, maxMs: number): Promise<boolean> {
  for (const end = Date.now() + maxMs; Date.now() < end;) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

async function sippCallee(t: Tap, port: number, args: readonly string[]) {
  const peer = runPeer(
    t,
    'sipp',
    [
      ...args,
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '40s',
      '-timeout_error',
    ],
    { timeoutMs: 45_000 },
  );
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (let i = 0; i < 200; i++) {
    const table = await readFile('/proc/net/udp', 'utf8');
    if (table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return peer;
}

t.test('bearer token: none or wrong → 401 problem; the OpenAPI document is public', async (t) => {
  const none = await api('GET', '/v1/calls', { auth: null });
  t.equal(none.status, 401);
  t.equal(none.type, 'application/problem+json');
  t.match(none.headers.get('www-authenticate'), /^Bearer/);
  t.match(none.body, { status: 401, code: 'unauthorized' });
  t.equal((await api('GET', '/v1/calls', { auth: `Bearer ${token}x` })).status, 401, 'longer token');
  t.equal((await api('GET', '/v1/calls', { auth: `Bearer ${token.slice(0, -1)}` })).status, 401, 'shorter');
  t.equal((await api('GET', '/v1/calls', { auth: `Basic ${token}` })).status, 401, 'not Bearer');
  t.equal((await api('POST', '/v1/calls', { auth: null, body: {} })).status, 401, 'checked before the body');
  t.equal((await api('GET', '/v1/calls')).status, 200, 'the right token');
  const doc = await api('GET', '/v1/openapi.json', { auth: null });
  t.equal(doc.status, 200);
  t.equal(doc.body.openapi, '3.1.0');
});

t.test('validation errors are problem+json naming the field', async (t) => {
  const cases: [unknown, string, number, string][] = [
    [{ trunk: 'lab', agent: 'survey' }, 'to', 422, 'invalid-field'],
    [{ to: 'not a number!', trunk: 'lab', agent: 'survey' }, 'to', 422, 'invalid-field'],
    [{ to: '100', agent: 'survey' }, 'trunk', 422, 'invalid-field'],
    [{ to: '100', trunk: 'lab', agent: 'survey', color: 'red' }, 'color', 422, 'invalid-field'],
    [
      { to: '100', trunk: 'lab', agent: 'survey', variables: { customer: 7 } },
      'variables.customer',
      422,
      'invalid-field',
    ],
    [{ to: '100', trunk: 'lab', agent: 'survey', timeoutSec: 0 }, 'timeoutSec', 422, 'invalid-field'],
    [
      { to: '100', trunk: 'lab', agent: 'survey', waitForCallee: 'yes' },
      'waitForCallee',
      422,
      'invalid-field',
    ],
    [
      { to: '100', trunk: 'lab', agent: 'survey', webhooks: [{ url: 'ftp://x' }] },
      'webhooks[0].url',
      422,
      'invalid-field',
    ],
    [{ to: '100', trunk: 'nope', agent: 'survey' }, 'trunk', 422, 'unknown-trunk'],
    [{ to: '100', trunk: 'lab', agent: 'nobody' }, 'agent', 422, 'unknown-agent'],
  ];
  for (const [body, field, status, code] of cases) {
    const r = await api('POST', '/v1/calls', { body });
    t.equal(r.status, status, `${JSON.stringify(body)} → ${status}`);
    t.equal(r.type, 'application/problem+json');
    t.match(r.body, { status, code, field, 'invalid-params': [{ name: field }] }, `names ${field}`);
  }
  const notJson = await api('POST', '/v1/calls', { raw: '{"to":' });
  t.match(notJson, { status: 400, body: { code: 'invalid-json' } });
  const form = await api('POST', '/v1/calls', { raw: 'to=1', type: 'application/x-www-form-urlencoded' });
  t.match(form, { status: 415, body: { code: 'unsupported-media-type' } });
  const huge = await api('POST', '/v1/calls', { raw: JSON.stringify({ to: 'x'.repeat(70_000) }) });
  t.equal(huge.status, 413);
  t.match(await api('PUT', '/v1/calls'), { status: 405, body: { code: 'method-not-allowed' } });
  t.match(await api('GET', '/v1/calls/nope'), { status: 404, body: { code: 'no-such-call', field: 'id' } });
  t.match(await api('DELETE', '/v1/calls/nope'), { status: 404 });
  t.match(await api('POST', '/v1/calls/nope/transfer', { body: { target: 'sip:x@y' } }), { status: 404 });
  t.match(await api('POST', '/v1/calls/nope/transfer', { body: { target: 'mailto:x' } }), {
    status: 422,
    body: { field: 'target' },
  });
});

t.test('a call placed, listed, read, hung up; the ended call keeps its CDR', async (t) => {
  const sipp = await sippCallee(t, 37320, ['-sn', 'uas', '-mi', '127.0.0.1', '-mp', '37330', '-rtp_echo']);
  const placed = await api('POST', '/v1/calls', {
    body: { to: '2000', trunk: 'lab', agent: 'survey', variables: { customer: 'Grace' } },
  });
  t.equal(placed.status, 201, JSON.stringify(placed.body));
  const id = placed.body.id as string;
  t.equal(placed.headers.get('location'), `/v1/calls/${encodeURIComponent(id)}`);
  t.match(placed.body, { direction: 'outbound', trunk: 'lab', agent: 'survey', to: '2000' });
  const path1 = `/v1/calls/${encodeURIComponent(id)}`;
  t.ok(
    await until(async () => (await api('GET', path1)).body.state === 'answered', 15_000),
    'answered by SIPp',
  );
  const list = await api('GET', '/v1/calls');
  t.ok(
    (list.body.calls as { id: string }[]).some((c) => c.id === id),
    'in the list',
  );
  // The agent connects once the call is answered.
  const instructions = async (): Promise<string> =>
    JSON.stringify(app.localAgent!.received.find((r) => r.event.type === 'session.update')?.event ?? {});
  await until(async () => (await instructions()) !== '{}', 5000);
  t.match(await instructions(), /Ask Grace one question/, 'variables reached the agent');
  const hung = await api('DELETE', path1);
  t.equal(hung.status, 202);
  t.ok(await until(async () => (await api('GET', path1)).body.state === 'ended', 10_000), 'ended');
  const ended = await api('GET', path1);
  t.match(ended.body, {
    state: 'ended',
    cdr: { endReason: 'api-hangup', sipStatus: 200, direction: 'outbound' },
  });
  t.match(await api('DELETE', path1), { status: 409, body: { code: 'call-ended' } });
  t.match(await api('POST', `${path1}/transfer`, { body: { target: 'sip:x@127.0.0.1' } }), { status: 409 });
  t.equal((await sipp.done).code, 0, 'SIPp saw the BYE');
});

t.test('transfer through the API: REFER accepted, NOTIFY 200, the call ends as transfer', async (t) => {
  const sipp = await sippCallee(t, 37322, [
    '-sf',
    path.resolve('sip-config/sipp/uas_accept_refer.xml'),
    '-mi',
    '127.0.0.1',
    '-mp',
    '37332',
  ]);
  const placed = await api('POST', '/v1/calls', { body: { to: '2001', trunk: 'transfer', agent: 'survey' } });
  t.equal(placed.status, 201);
  const callPath = `/v1/calls/${encodeURIComponent(placed.body.id as string)}`;
  t.ok(await until(async () => (await api('GET', callPath)).body.state === 'answered', 15_000), 'answered');
  const early = await api('POST', `${callPath}/transfer`, { body: { target: 'sip:4001@127.0.0.1' } });
  t.match(early, { status: 200, body: { accepted: true, status: 200 } }, 'the sipfrag said 200');
  t.ok(await until(async () => (await api('GET', callPath)).body.state === 'ended', 10_000), 'ended');
  t.match((await api('GET', callPath)).body, {
    cdr: { endReason: 'transfer', transferTarget: 'sip:4001@127.0.0.1' },
  });
  const peer = await sipp.done;
  t.equal(
    peer.code,
    0,
    `SIPp got the REFER, its NOTIFYs were answered, and our BYE came ${peer.stderr.slice(-300)}`,
  );
});

t.test('an inbound SIP call appears in the same list', async (t) => {
  const caller = runSipp(t, '127.0.0.1:37300', [
    '-sn',
    'uac',
    '-s',
    'survey',
    '-p',
    '37321',
    '-m',
    '1',
    '-d',
    '4000',
  ]);
  let inbound: Record<string, unknown> | undefined;
  await until(async () => {
    const calls = (await api('GET', '/v1/calls')).body.calls as Record<string, unknown>[];
    inbound = calls.find((c) => c.direction === 'inbound');
    return inbound !== undefined;
  }, 10_000);
  t.match(inbound, { direction: 'inbound', state: 'active', to: /survey/ });
  const done = await caller;
  t.equal(done.code, 0, 'SIPp call completed');
  const after = await api('GET', `/v1/calls/${encodeURIComponent(String(inbound?.id))}`);
  t.match(after.body, { state: 'ended', direction: 'inbound', cdr: { endReason: 'remote-bye' } });
});

/** The live inbound call's API path, once listed. */
async function inboundPath(): Promise<string | undefined> {
  let found: string | undefined;
  await until(async () => {
    const calls = (await api('GET', '/v1/calls')).body.calls as { id: string; direction: string }[];
    const call = calls.find((c) => c.direction === 'inbound');
    if (call !== undefined) found = `/v1/calls/${encodeURIComponent(call.id)}`;
    return found !== undefined;
  }, 10_000);
  return found;
}

t.test('an inbound call hung up through the API ends as api-hangup', async (t) => {
  const caller = runSipp(t, '127.0.0.1:37300', [
    '-sf',
    path.resolve('sip-config/sipp/uac_recv_bye.xml'),
    '-s',
    'survey',
    '-p',
    '37323',
    '-mp',
    '37333',
    '-m',
    '1',
  ]);
  const callPath = await inboundPath();
  t.ok(callPath, 'listed');
  t.equal((await api('DELETE', callPath!)).status, 202);
  t.equal((await caller).code, 0, 'SIPp got our BYE');
  t.ok(await until(async () => (await api('GET', callPath!)).body.state === 'ended', 5000));
  t.match((await api('GET', callPath!)).body, { direction: 'inbound', cdr: { endReason: 'api-hangup' } });
});

t.test('an inbound call transferred through the API', async (t) => {
  const caller = runSipp(t, '127.0.0.1:37300', [
    '-sf',
    path.resolve('sip-config/sipp/uac_accept_refer.xml'),
    '-s',
    'survey',
    '-p',
    '37324',
    '-mp',
    '37334',
    '-m',
    '1',
  ]);
  const callPath = await inboundPath();
  t.ok(callPath, 'listed');
  let outcome: Answer | undefined;
  await until(async () => {
    outcome = await api('POST', `${callPath!}/transfer`, { body: { target: 'sip:4001@127.0.0.1' } });
    return outcome.status !== 409; // 409 until the call is answered
  }, 10_000);
  t.match(outcome, { status: 200, body: { accepted: true, status: 200 } });
  t.equal((await caller).code, 0, 'SIPp took the REFER, reported 200 and got our BYE');
  t.ok(await until(async () => (await api('GET', callPath!)).body.state === 'ended', 5000));
  t.match((await api('GET', callPath!)).body, {
    cdr: { endReason: 'transfer', transferTarget: 'sip:4001@127.0.0.1' },
  });
});

t.test(
  'OpenAPI: the documented operations are the routes, and every status seen is documented',
  async (t) => {
    const doc = (await api('GET', '/v1/openapi.json', { auth: null })).body as {
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((k) => ['get', 'post', 'put', 'delete', 'patch'].includes(k))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    t.same(documented.sort(), API_ROUTES.map((r) => `${r.method} ${r.path}`).sort(), 'same operations');
    for (const s of seen) {
      const op = doc.paths[s.route]?.[s.method.toLowerCase()];
      if (op === undefined) {
        t.equal(s.status, 405, `${s.method} ${s.route} is not an operation: 405`);
        continue;
      }
      t.ok(op.responses?.[String(s.status)] !== undefined, `${s.method} ${s.route} → ${s.status} documented`);
    }
    for (const route of API_ROUTES) {
      t.ok(
        seen.some((s) => s.method === route.method && s.route === route.path),
        `${route.method} ${route.path} exercised`,
      );
    }
  },
);

t.test('a short token is refused at start', async (t) => {
  await t.rejects(startObservability(config, logger, { apiToken: 'short', port: 37302 }), /at least 16/);
});

// The agent's tools: declarations sent to the model, dispatch to the call, and webhook functions
// against a real HTTP server on 127.0.0.1 (success, HTTP error, timeout, non-JSON, bad args).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import type { AgentTool } from '../../../src/call/agent-profile.js';
import { AgentTools } from '../../../src/call/tools/agent-tools.js';
import type { CallControl } from '../../../src/call/tools/call-control.js';
import { logger } from '../../../src/observability/logger.js';
import type { ReferOutcome } from '../../../src/signaling/signaling-backend.js';

/** Our own CallControl, recording what the tools asked of the call. */
class RecordingControl implements CallControl {
  readonly actions: string[] = [];
  referOutcome: ReferOutcome = { accepted: true, status: 200, reason: 'OK' };
  hangupAfterPlayout(timeoutMs: number): void {
    this.actions.push(`hangup ${timeoutMs}`);
  }
  async transfer(targetUri: string): Promise<ReferOutcome> {
    this.actions.push(`transfer ${targetUri}`);
    return this.referOutcome;
  }
  async sendDtmf(digits: string): Promise<void> {
    if (digits === '0000') throw new RangeError('RTP stream closed');
    this.actions.push(`dtmf ${digits}`);
  }
}

async function webhookServer(
  t: { teardown(fn: () => unknown): void },
  handler: (body: string, req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(body, req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/tool`;
}

const call = (name: string, args: unknown): { callId: string; name: string; arguments: string } => ({
  callId: 'c1',
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
});

t.test('declarations for session.update', async (t) => {
  const tools: AgentTool[] = [
    { type: 'web_search' },
    { type: 'x_search' },
    { type: 'file_search', vectorStoreIds: ['col1'] },
    { type: 'end_call' },
    { type: 'transfer', targets: { sales: 'sip:4001@127.0.0.1', support: 'sip:4002@127.0.0.1' } },
    { type: 'send_dtmf' },
    {
      type: 'function',
      name: 'lookup_order',
      description: 'Find an order',
      parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      webhook: { url: 'http://127.0.0.1:1/x', headers: { authorization: 'Bearer x' }, timeoutMs: 1000 },
    },
  ];
  const declared = new AgentTools(tools, new RecordingControl(), { log: logger }).realtimeTools();
  t.same(
    declared.map((d) => (d.type === 'function' ? d.name : d.type)),
    ['web_search', 'x_search', 'file_search', 'end_call', 'transfer_call', 'send_dtmf', 'lookup_order'],
  );
  t.same(declared[2], { type: 'file_search', vectorStoreIds: ['col1'] });
  t.match(declared[3], {
    type: 'function',
    description: /goodbye/i,
    parameters: { type: 'object', properties: { reason: { type: 'string' } } },
  });
  t.notOk((declared[3] as { parameters: { required?: unknown } }).parameters.required, 'reason is optional');
  t.match(declared[5], {
    parameters: {
      properties: { digits: { type: 'string', pattern: '^[0-9*#A-D]{1,32}$' } },
      required: ['digits'],
    },
  });
  t.same(
    declared[6],
    {
      type: 'function',
      name: 'lookup_order',
      description: 'Find an order',
      parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    },
    'a webhook function is declared as written, without its webhook',
  );
  const transfer = declared[4];
  t.same(
    transfer?.type === 'function' ? transfer.parameters : null,
    {
      type: 'object',
      properties: { target: { type: 'string', enum: ['sales', 'support'] } },
      required: ['target'],
    },
    'transfer offers the target names, never the URIs',
  );
});

t.test('call control tools', async (t) => {
  const control = new RecordingControl();
  const tools = new AgentTools(
    [
      { type: 'end_call' },
      { type: 'transfer', targets: { sales: 'sip:4001@127.0.0.1' } },
      { type: 'send_dtmf' },
    ],
    control,
    { log: logger, hangupTimeoutMs: 3000 },
  );
  t.same(await tools.handle(call('end_call', {})), { output: '{"ok":true}', reply: false });
  t.same(await tools.handle(call('send_dtmf', { digits: '12#a' })), {
    output: '{"ok":true,"sent":"12#A"}',
    reply: true,
  });
  t.same(await tools.handle(call('transfer_call', { target: 'sales' })), {
    output: '{"ok":true,"status":200,"reason":"OK"}',
    reply: false,
  });
  control.referOutcome = { accepted: false, status: 603, reason: 'Decline' };
  t.same(
    await tools.handle(call('transfer_call', { target: 'sales' })),
    { output: '{"ok":false,"status":603,"reason":"Decline"}', reply: true },
    'a refused transfer goes back to the model',
  );
  t.same(control.actions, [
    'hangup 3000',
    'dtmf 12#A',
    'transfer sip:4001@127.0.0.1',
    'transfer sip:4001@127.0.0.1',
  ]);

  const errors = await Promise.all([
    tools.handle(call('transfer_call', { target: 'sip:evil@example.com' })),
    tools.handle(call('send_dtmf', { digits: '12x' })),
    tools.handle(call('send_dtmf', '{not json')),
    tools.handle(call('send_dtmf', '[1,2]')),
    tools.handle(call('rm_rf', {})),
    tools.handle(call('transfer_call', { target: 'toString' })),
    tools.handle(call('transfer_call', { target: '__proto__' })),
    tools.handle(call('transfer_call', {})),
    tools.handle(call('send_dtmf', { digits: 123 })),
    tools.handle(call('send_dtmf', { digits: '0000' })),
  ]);
  t.same(
    errors.map((e) => (JSON.parse(e.output) as { error: string }).error),
    [
      'transfer_call: target must be one of sales',
      'send_dtmf: digits must match ^[0-9*#A-D]{1,32}$',
      'send_dtmf: arguments are not valid JSON',
      'send_dtmf: arguments must be a JSON object',
      'rm_rf is not a tool of this agent',
      'transfer_call: target must be one of sales',
      'transfer_call: target must be one of sales',
      'transfer_call: target must be one of sales',
      'send_dtmf: digits must match ^[0-9*#A-D]{1,32}$',
      'send_dtmf failed: RTP stream closed',
    ],
  );
  t.ok(
    errors.every((e) => e.reply),
    'every refusal goes back to the model',
  );
  t.equal(control.actions.length, 4, 'bad calls did nothing to the call');

  t.same(await tools.handle(call('end_call', '')), { output: '{"ok":true}', reply: false }, 'no arguments');

  const noTools = new AgentTools([], control, { log: logger });
  t.match(JSON.parse((await noTools.handle(call('end_call', {}))).output), { error: /not a tool/ });
});

t.test('webhook functions over real HTTP', async (t) => {
  const seen: { body: unknown; auth: string | undefined }[] = [];
  const url = await webhookServer(t, (body, req, res) => {
    seen.push({ body: JSON.parse(body), auth: req.headers.authorization });
    const args = (JSON.parse(body) as { arguments: { mode: string } }).arguments;
    switch (args.mode) {
      case 'json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"balance": 42}');
        return;
      case 'text':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('open 9 to 5');
        return;
      case 'bad-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{oops');
        return;
      case 'error':
        res.writeHead(500).end('database down');
        return;
      case 'slow':
        return; // never answers: the tool's timeout must fire
      case 'stall-body':
        res.writeHead(200, { 'content-type': 'application/json' }).write('{"partial":');
        return; // headers and half a body, then nothing
      case 'redirect':
        res.writeHead(307, { location: 'http://127.0.0.1:9/steal' }).end();
        return;
      case 'big':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(100_000));
        return;
      case 'empty':
        res.writeHead(204).end();
        return;
    }
  });
  const tools = new AgentTools(
    [
      {
        type: 'function',
        name: 'lookup',
        description: 'look something up',
        parameters: { type: 'object' },
        webhook: { url, headers: { authorization: 'Bearer s3cret' }, timeoutMs: 300 },
      },
    ],
    new RecordingControl(),
    { log: logger, callId: 'call-7' },
  );
  const output = async (mode: string): Promise<unknown> =>
    JSON.parse((await tools.handle(call('lookup', { mode }))).output);
  t.same(await output('json'), { balance: 42 });
  t.same(seen[0], {
    body: { name: 'lookup', arguments: { mode: 'json' }, callId: 'call-7' },
    auth: 'Bearer s3cret',
  });
  t.same(await output('text'), { result: 'open 9 to 5' });
  t.same(await output('bad-json'), { error: 'webhook lookup: the response says JSON but does not parse' });
  t.same(await output('error'), { error: 'webhook lookup: HTTP 500: database down' });
  t.same(await output('slow'), { error: 'webhook lookup: no answer within 300 ms' });
  t.same(await output('stall-body'), { error: 'webhook lookup: no answer within 300 ms' }, 'body cut off');
  t.same(await output('redirect'), { error: 'webhook lookup: HTTP 307 redirect (not followed)' });
  t.same(await output('big'), { error: 'webhook lookup: result larger than 65536 bytes' });
  t.same(await output('empty'), { ok: true }, 'an empty 2xx body is a plain success');
  t.equal(seen.length, 9, 'the redirect was not followed (one request per call)');

  // A port that was free a moment ago: nothing listens there now.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const unreachable = new AgentTools(
    [
      {
        type: 'function',
        name: 'lookup',
        description: 'x',
        parameters: {},
        webhook: { url: `http://127.0.0.1:${closedPort}/tool`, headers: {}, timeoutMs: 2000 },
      },
    ],
    new RecordingControl(),
    { log: logger },
  );
  t.match(JSON.parse((await unreachable.handle(call('lookup', {}))).output), {
    error: /^webhook lookup: request failed \(.*ECONNREFUSED/,
  });
});

t.test('failures are logged once per call and kind, header values never', async (t) => {
  const lines: { msg: string; kind?: string; error?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  let posts = 0;
  const url = await webhookServer(t, (body, _req, res) => {
    posts++;
    const mode = (JSON.parse(body) as { arguments: { mode: string } }).arguments.mode;
    if (mode === 'error') res.writeHead(503).end('busy');
    // 'slow': never answered
  });
  const secret = 'Bearer tok-9f8e7d';
  const tools = new AgentTools(
    [
      {
        type: 'function',
        name: 'lookup',
        description: 'x',
        parameters: { type: 'object' },
        webhook: {
          url: `${url}?key=qs-secret`,
          headers: { authorization: secret, 'x-api-key': secret },
          timeoutMs: 200,
        },
      },
    ],
    new RecordingControl(),
    { log },
  );
  for (let i = 0; i < 3; i++) {
    t.match(JSON.parse((await tools.handle(call('lookup', { mode: 'error' }))).output), {
      error: 'webhook lookup: HTTP 503: busy',
    });
  }
  for (let i = 0; i < 2; i++) await tools.handle(call('lookup', { mode: 'slow' }));
  for (let i = 0; i < 3; i++) {
    t.same(JSON.parse((await tools.handle(call('lookup', '{"mode":'))).output), {
      error: 'lookup: arguments are not valid JSON',
    });
  }
  t.equal(posts, 5, 'bad arguments never reached the webhook');
  t.same(
    lines.map((l) => [l.msg, l.kind ?? l.error]),
    [
      ['webhook function failed', 'http'],
      ['webhook function failed', 'timeout'],
      ['tool call refused', 'lookup: arguments are not valid JSON'],
    ],
    'one line per kind of failure',
  );
  t.notMatch(JSON.stringify(lines), /tok-9f8e7d|qs-secret/, 'no header value or query string in the log');

  const nextCall = new AgentTools(
    [
      {
        type: 'function',
        name: 'lookup',
        description: 'x',
        parameters: {},
        webhook: { url, headers: {}, timeoutMs: 200 },
      },
    ],
    new RecordingControl(),
    { log },
  );
  await nextCall.handle(call('lookup', { mode: 'error' }));
  t.equal(lines.length, 4, 'the next call logs its own first failure');
});

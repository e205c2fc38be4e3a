// A few hundred malformed and truncated datagrams at the endpoint during a live call: the call
// completes, answerable garbage gets 400 (RFC 3261 §21.4.1), the rest is dropped; and the flood
// is logged once per source and kind of fault, not once per datagram.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { answerCalls, startEndpoint } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';
import { UdpPeer, offer, request, statusOf } from './support/raw-sip.js';

const PORT = 17200;

function garbage(i: number, localPort: number): string | Buffer {
  const good = request(
    {
      method: 'INVITE',
      uri: `sip:9@127.0.0.1:${PORT}`,
      branch: `z9hG4bK-bad-${i}`,
      callId: `bad-${i}`,
      cseq: 1,
      body: offer('g711'),
    },
    localPort,
  );
  switch (i % 10) {
    case 0:
      return randomBytes(1 + (i % 900));
    case 1:
      return good.slice(0, 1 + ((i * 37) % (good.length - 1))); // truncated anywhere
    case 2:
      return good.replace(/^CSeq: .*$/m, 'CSeq: banana INVITE');
    case 3:
      return good.replace(/^CSeq: 1 INVITE$/m, 'CSeq: 1 BYE'); // method mismatch
    case 4:
      return good.replace(/^Content-Length: \d+$/m, 'Content-Length: 99999');
    case 5:
      return good.replace(/^Call-ID: .*\r\n/m, ''); // cannot be answered
    case 6:
      return good.replace(/^Via: .*$/m, 'Via: SIP/2.0/UDP');
    case 7:
      return good.replace(/^From: .*$/m, 'From: <<<sip:@@@>>>;tag=');
    case 8:
      return good.replace('INVITE sip:', 'INVITE  sip:').replace(' SIP/2.0\r\n', ' SIP/3.0\r\n');
    default:
      return good.replace(/^Max-Forwards: 70$/m, `X-Long: ${'a'.repeat(3000)}\r\nNoColonHere`);
  }
}

t.test('garbage during a call: call completes, 400s for the answerable ones', async (t) => {
  const backend = await startEndpoint(t, PORT);
  const log = answerCalls(backend);
  const call = runSipp(t, `127.0.0.1:${PORT}`, [
    '-sn',
    'uac',
    '-s',
    '4711',
    '-p',
    String(PORT + 1),
    '-m',
    '1',
    '-d',
    '3000',
  ]);
  const peer = await UdpPeer.open(t);
  while (log.dialogs.length === 0) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 400; i++) {
    peer.send(garbage(i, peer.port), PORT);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10));
  }
  const r = await call;
  t.equal(r.code, 0, `live call completed (rc ${r.code}) ${r.stderr.slice(-300)}`);
  const badRequests = peer.received.filter((m) => statusOf(m) === 400).length;
  t.ok(badRequests >= 100, `400 for answerable malformed requests (${badRequests})`);
  t.equal(log.calls.length, 1, 'no garbage became a call');
  // Still alive and well.
  peer.send(
    request(
      {
        method: 'OPTIONS',
        uri: `sip:x@127.0.0.1:${PORT}`,
        branch: 'z9hG4bK-after',
        callId: 'after',
        cseq: 1,
      },
      peer.port,
    ),
    PORT,
  );
  const ok = await peer.waitFor((m) => statusOf(m) === 200 && m.includes('Call-ID: after'));
  t.equal(ok.length, 1, 'OPTIONS answered after the flood');
});

t.test('the flood is logged once per source and fault', async (t) => {
  // The endpoint in its own process with warnings on (test processes keep the logger silent).
  const port = PORT + 10;
  const child = spawn(
    process.execPath,
    ['--import=tsx', path.join(import.meta.dirname, 'support', 'endpoint-process.ts'), String(port)],
    {
      env: { ...process.env, TAP: '0', NODE_ENV: 'production', GROK_SIP_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const until = Date.now() + 15_000;
  while (!out.includes('ready') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const peer = await UdpPeer.open(t);
  for (let i = 0; i < 400; i++) {
    peer.send(garbage(i, peer.port), port);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10));
  }
  await peer.waitFor((m) => statusOf(m) === 400, 100, 5000);
  await new Promise((r) => setTimeout(r, 300));
  const warnings = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; kind?: string; source?: string; reason?: string })
    .filter((l) => l.msg === 'input rejected');
  const kinds = new Set(warnings.map((w) => `${w.source}|${w.kind}`));
  t.ok(warnings.length > 0, `the faults are logged (${warnings.length} lines for 400 datagrams)`);
  t.equal(kinds.size, warnings.length, 'each source and kind of input once');
  t.ok(warnings.length <= 3, 'a handful of lines, not one per datagram');
  t.ok(
    warnings.every((w) => typeof w.reason === 'string' && w.reason.length > 0),
    'the line names the first fault',
  );
});

// `grok-sip dial` and `grok-sip calls` as child processes against a grok-sip running in this
// process with its REST API: a call answered by SIPp (which hangs up after 2 s) is followed to its
// end (exit 0), a busy callee exits 1 naming the reason, a refused request names the field, and
// `calls` lists a live call. Bad arguments exit 2.
// Ports: SIP 37400, HTTP 37401, RTP 37430-37469, SIPp callees 37410-37412 (media 37420-37422).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import { startObservability, type Observability } from '../../src/app/observability-wiring.js';
import { parseConfig } from '../../src/config/load-config.js';
import { logger } from '../../src/observability/logger.js';
import { runPeer } from '../sip/support/run-peer.js';
import type { Tap } from '../sip/support/sip-endpoint.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const scenarios = path.join(root, 'sip-config', 'sipp');
const token = 'dial-test-token-0123456789';
const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37400 }]
media: { rtpAddress: 127.0.0.1, portMin: 37430, portMax: 37469, workers: 0 }
http: { address: 127.0.0.1, port: 37401 }
agents:
  profiles: [{ name: caller, instructions: Say hello., greeting: Hello!, audioFormat: auto }]
  routes: []
trunks:
  - { name: answers, proxy: "sip:127.0.0.1:37410" }
  - { name: busy, proxy: "sip:127.0.0.1:37411" }
  - { name: stays, proxy: "sip:127.0.0.1:37412" }
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

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function grokSip(env: Record<string, string>, ...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', 'src/cli/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, GROK_SIP_API_URL: observability.url, GROK_SIP_API_TOKEN: token, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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

t.test('dial: answered, followed to the callee hanging up, exit 0', async (t) => {
  const sipp = await sippCallee(t, 37410, [
    '-sf',
    path.join(scenarios, 'uas_answer_hangup.xml'),
    '-mi',
    '127.0.0.1',
    '-mp',
    '37420',
    '-rtp_echo',
  ]);
  const r = await grokSip({}, 'dial', '7000', '--trunk', 'answers', '--agent', 'caller', '--var', 'x=1');
  t.equal(r.code, 0, `exit 0 ${r.stderr}`);
  t.match(r.stdout, /call \S+ to 7000 via answers: dialing/);
  t.match(r.stdout, /\n {2}answered\n/);
  t.match(r.stdout, /ended: remote-bye \(SIP 200, \d+\.\d s\)/);
  t.equal((await sipp.done).code, 0, 'SIPp answered, hung up and got our 200');
});

t.test('dial: busy exits 1 with the reason; --json prints the call with its CDR', async (t) => {
  const sipp = await sippCallee(t, 37411, ['-sf', path.join(scenarios, 'uas_busy.xml')]);
  const r = await grokSip({}, 'dial', '7001', '--trunk', 'busy', '--agent', 'caller', '--json');
  t.equal(r.code, 1);
  t.match(JSON.parse(r.stdout), { state: 'ended', cdr: { endReason: 'busy', sipStatus: 486 } });
  t.equal((await sipp.done).code, 0);
});

t.test('dial: a refused request names the field; bad arguments exit 2', async (t) => {
  const r = await grokSip({}, 'dial', '7002', '--trunk', 'nope', '--agent', 'caller');
  t.equal(r.code, 1);
  t.match(r.stderr, /no trunk named nope \(field trunk\)/);
  const noTrunk = await grokSip({}, 'dial', '7002', '--agent', 'caller');
  t.equal(noTrunk.code, 2);
  t.match(noTrunk.stderr, /--trunk is required/);
  const noToken = await grokSip({ GROK_SIP_API_TOKEN: '' }, 'dial', '7002', '--trunk', 'a', '--agent', 'b');
  t.equal(noToken.code, 2);
  const wrongToken = await grokSip({ GROK_SIP_API_TOKEN: 'wrong-token-0123456789' }, 'calls');
  t.equal(wrongToken.code, 1);
  t.match(wrongToken.stderr, /Bearer token/);
});

t.test('calls: lists a live call; --detach leaves it running', async (t) => {
  const sipp = await sippCallee(t, 37412, ['-sn', 'uas', '-mi', '127.0.0.1', '-mp', '37422', '-rtp_echo']);
  const placed = await grokSip({}, 'dial', '7003', '--trunk', 'stays', '--agent', 'caller', '--detach');
  t.equal(placed.code, 0);
  const id = placed.stdout.trim();
  t.match(id, /^[0-9a-f-]{36}$/, 'the call id');
  const r = await grokSip({}, 'calls');
  t.equal(r.code, 0);
  t.match(r.stdout, /^ID\s+DIRECTION\s+STATE\s+FROM\s+TO\s+AGENT\s+TRUNK\s+AGE/);
  t.match(r.stdout, new RegExp(`${id}\\s+outbound\\s+\\w+\\s+\\S*\\s*7003\\s+caller\\s+stays`));
  const json = await grokSip({}, 'calls', '--json');
  t.ok((JSON.parse(json.stdout) as { id: string }[]).some((c) => c.id === id));
  t.ok(app.calls.hangup(id));
  t.equal((await sipp.done).code, 0);
  const none = await grokSip({}, 'calls');
  t.match(none.stdout, /no calls/);
});

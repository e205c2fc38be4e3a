// Per-trunk limits and waitForCallee (issue 18). A trunk at its maxCalls refuses the next call
// (trunk-busy, the REST API's 429 with Retry-After) until one ends; a trunk past maxCallsPerSec
// refuses with trunk-rate. waitForCallee: a silent callee gets the greeting after the silence; a
// callee who speaks first (SIPp streams a phrase on answer) is answered by the agent's own turn,
// and the greeting is never forced on top of it.
// Ports: SIP 37500, HTTP 37501, RTP 37530-37569, SIPp callees 37510-37514 (media 37520-37524).
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import { startObservability, type Observability } from '../../src/app/observability-wiring.js';
import { PlaceCallError } from '../../src/app/outbound-calls.js';
import { parseConfig } from '../../src/config/load-config.js';
import { logger } from '../../src/observability/logger.js';
import { runPeer } from '../sip/support/run-peer.js';
import type { Tap } from '../sip/support/sip-endpoint.js';
import { spokenPhraseDir } from './support/spoken-phrase.js';

const scenarios = path.resolve('sip-config/sipp');
const token = 'limits-test-token-0123456789';
const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 37500 }]
media: { rtpAddress: 127.0.0.1, portMin: 37530, portMax: 37569, workers: 0 }
http: { address: 127.0.0.1, port: 37501 }
agents:
  profiles:
    - { name: polite, instructions: Be brief., greeting: Good morning, audioFormat: auto }
  routes: []
trunks:
  - { name: one, proxy: "sip:127.0.0.1:37510", maxCalls: 1 }
  - { name: slow, proxy: "sip:127.0.0.1:37511", maxCallsPerSec: 1, ringTimeoutSec: 1 }
  - { name: quiet, proxy: "sip:127.0.0.1:37512" }
  - { name: talker, proxy: "sip:127.0.0.1:37513" }
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

async function sippCallee(t: Tap, port: number, args: readonly string[], cwd?: string) {
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
    { timeoutMs: 45_000, ...(cwd !== undefined && { cwd }) },
  );
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (let i = 0; i < 200; i++) {
    const table = await readFile('/proc/net/udp', 'utf8');
    if (table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return peer;
}

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  for (const end = Date.now() + maxMs; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

function refusal(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

t.test('maxCalls: the second call is refused until the first ends', async (t) => {
  const sipp = await sippCallee(t, 37510, ['-sf', path.join(scenarios, 'uas_ring_no_answer.xml')]);
  const first = app.placeCall({ to: '1', trunk: 'one', agent: 'polite' });
  const second = refusal(() => app.placeCall({ to: '2', trunk: 'one', agent: 'polite' }));
  t.ok(second instanceof PlaceCallError);
  t.match(second, { problem: 'trunk-busy', field: 'trunk', message: /maxCalls \(1\)/ });
  const res = await fetch(`${observability.url}/v1/calls`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to: '3', trunk: 'one', agent: 'polite' }),
  });
  t.equal(res.status, 429, 'the REST API answers 429');
  t.equal(res.headers.get('retry-after'), '1');
  t.match(await res.json(), { code: 'trunk-busy', field: 'trunk' });
  first.hangup();
  t.match(await first.done, { endReason: 'api-hangup' });
  t.equal((await sipp.done).code, 0);
  const sipp2 = await sippCallee(t, 37510, ['-sf', path.join(scenarios, 'uas_busy.xml')]);
  const again = app.placeCall({ to: '4', trunk: 'one', agent: 'polite' });
  t.match(await again.done, { endReason: 'busy' }, 'taken again once the first ended');
  t.equal((await sipp2.done).code, 0);
});

t.test('maxCallsPerSec: a burst past the rate is refused', async (t) => {
  const sipp = await sippCallee(t, 37511, ['-sf', path.join(scenarios, 'uas_busy.xml')]);
  const first = app.placeCall({ to: '1', trunk: 'slow', agent: 'polite' });
  const second = refusal(() => app.placeCall({ to: '2', trunk: 'slow', agent: 'polite' }));
  t.match(second, { problem: 'trunk-rate', field: 'trunk', message: /maxCallsPerSec \(1\)/ });
  t.match(await first.done, { endReason: 'busy' });
  t.equal((await sipp.done).code, 0);
});

/** The local agent's connection opened for the next call (each call has its own). */
function nextConnection(): number {
  return Math.max(-1, ...app.localAgent!.received.map((r) => r.connection)) + 1;
}

function greetings(connection: number): number {
  return app.localAgent!.received.filter(
    (r) =>
      r.connection === connection &&
      r.event.type === 'response.create' &&
      JSON.stringify(r.event).includes('Good morning'),
  ).length;
}

t.test('waitForCallee, silent callee: the greeting comes after the silence', async (t) => {
  const sipp = await sippCallee(t, 37512, ['-sn', 'uas', '-mi', '127.0.0.1', '-mp', '37522']);
  const connection = nextConnection();
  const call = app.placeCall({ to: '1', trunk: 'quiet', agent: 'polite', waitForCallee: true });
  t.ok(await until(() => call.state === 'answered', 10_000), 'answered');
  const update = (): string =>
    JSON.stringify(
      app.localAgent!.received.find((r) => r.connection === connection && r.event.type === 'session.update')
        ?.event ?? {},
    );
  t.ok(await until(() => update() !== '{}', 5000), 'agent connected');
  t.match(
    update(),
    /When the callee has answered, begin with: \\"Good morning\\"/,
    'greeting in the instructions',
  );
  t.ok(
    await until(() => greetings(connection) === 1, 10_000),
    'greeting asked for once the callee stayed silent',
  );
  call.hangup();
  await call.done;
  t.equal((await sipp.done).code, 0);
});

t.test('waitForCallee, the callee speaks first: no greeting forced over it', async (t) => {
  const work = spokenPhraseDir(t, 'callee-first');
  const sipp = await sippCallee(
    t,
    37513,
    ['-sf', path.join(scenarios, 'uas_speak_first.xml'), '-mi', '127.0.0.1', '-mp', '37523'],
    work,
  );
  const connection = nextConnection();
  const call = app.placeCall({ to: '1', trunk: 'talker', agent: 'polite', waitForCallee: true });
  const heard = (): boolean =>
    app.localAgent!.sent.some(
      (s) => s.connection === connection && s.type === 'input_audio_buffer.speech_started',
    );
  t.ok(await until(heard, 15_000), "the agent heard the callee's phrase");
  const answered = (): boolean =>
    app.localAgent!.sent.some((s) => s.connection === connection && s.type === 'response.done');
  t.ok(await until(answered, 15_000), "the agent answered the callee's turn by itself");
  // Past the 2 s silence window the greeting would have been forced by now; it must not be.
  await new Promise((r) => setTimeout(r, 2500));
  t.equal(greetings(connection), 0, 'no forced greeting');
  call.hangup();
  await call.done;
  t.equal((await sipp.done).code, 0);
});

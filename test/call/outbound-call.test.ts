// Outbound calls through a trunk (issue 18) against SIPp callees: an echoing callee hears the
// agent (the greeting comes back through SIPp's RTP echo into the agent's input), a callee that
// challenges with 401 or 407 gets the trunk's credentials, a busy callee ends the call as busy,
// a callee that only rings is CANCELled at the ring timeout.
// Ports: grok-sip SIP 37000, RTP 37100-37199; SIPp callees 37010-37019, their media 37020-37049.
import { createSocket } from 'node:dgram';
import path from 'node:path';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import { PlaceCallError } from '../../src/app/outbound-calls.js';
import { parseConfig } from '../../src/config/load-config.js';
import { decodeUlaw } from '../../src/media/g711.js';
import type { LocalAgent } from '../../src/realtime/index.js';
import { runPeer } from '../sip/support/run-peer.js';
import type { Tap } from '../sip/support/sip-endpoint.js';
import { readFile } from 'node:fs/promises';

const scenarios = path.resolve('sip-config/sipp');

function config(sipPort: number) {
  return parseConfig(
    `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }, { transport: tcp, address: 127.0.0.1, port: ${sipPort} }]
media: { rtpAddress: 127.0.0.1, portMin: 37100, portMax: 37199, workers: 0 }
agents:
  profiles:
    - name: reminder
      instructions: Remind {{name}} of the appointment.
      greeting: Hello {{name}}, this is your reminder.
      audioFormat: auto
  routes: []
trunks:
  - { name: echo, proxy: "sip:127.0.0.1:37010" }
  - { name: auth, proxy: "sip:127.0.0.1:37011", username: alice, password: "\${TRUNK_PASSWORD}" }
  - { name: proxyauth, proxy: "sip:127.0.0.1:37013", username: alice, password: "\${TRUNK_PASSWORD}" }
  - { name: busy, proxy: "sip:127.0.0.1:37012" }
  - { name: ring, proxy: "sip:127.0.0.1:37014" }
  - { name: ring2, proxy: "sip:127.0.0.1:37015" }
  - { name: silent, proxy: "sip:127.0.0.1:37016" }
  - { name: overtcp, proxy: "sip:127.0.0.1:37017", transport: tcp }
`,
    { TRUNK_PASSWORD: 'secret' },
  );
}

/** SIPp as a callee; resolves once its UDP port is bound. */
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

/** μ-law frames the agent got from the call that carry sound (mean |sample| above ~ -36 dBFS). */
function audibleFramesAtAgent(agent: LocalAgent): number {
  let audible = 0;
  for (const { event } of agent.received) {
    if (event.type !== 'input_audio_buffer.append') continue;
    const pcm = decodeUlaw(Buffer.from(event.audio, 'base64'));
    let sum = 0;
    for (let i = 0; i < pcm.length; i += 2) sum += Math.abs(pcm.readInt16LE(i));
    if (sum / (pcm.length / 2) > 500) audible++;
  }
  return audible;
}

async function until(check: () => boolean, maxMs: number): Promise<boolean> {
  for (const end = Date.now() + maxMs; Date.now() < end;) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

let app: GrokSipApp;
t.before(async () => {
  app = await startGrokSip(config(37000), {
    localAgent: {
      mode: 'scripted',
      script: { turns: [{ kind: 'say', text: 'greeting', durationMs: 1500 }] },
    },
  });
});
t.teardown(() => app.stop());

t.test('an answered call: the agent is heard by the callee (SIPp echoes it back to the agent)', async (t) => {
  const sipp = await sippCallee(t, 37010, ['-sn', 'uas', '-mi', '127.0.0.1', '-mp', '37020', '-rtp_echo']);
  const states: string[] = [];
  const session = app.placeCall({ to: '4000', trunk: 'echo', agent: 'reminder', variables: { name: 'Ada' } });
  session.events.on('state', (s) => states.push(s));
  t.equal(app.calls.get(session.callId)?.direction, 'outbound', 'listed while dialing');
  const heard = await until(() => audibleFramesAtAgent(app.localAgent!) >= 10, 15_000);
  t.ok(
    heard,
    `the greeting came back through the callee: ${audibleFramesAtAgent(app.localAgent!)} audible frames`,
  );
  const update = app.localAgent!.received.find((r) => r.event.type === 'session.update');
  t.match(
    JSON.stringify(update?.event),
    /Remind Ada of the appointment/,
    'variables filled in the instructions',
  );
  const greeting = app.localAgent!.received.find((r) => r.event.type === 'response.create');
  t.match(JSON.stringify(greeting?.event), /Hello Ada, this is your reminder/, 'and in the greeting');
  t.equal(app.calls.list().find((c) => c.id === session.callId)?.state, 'answered');
  session.hangup();
  const record = await session.done;
  t.match(record, {
    direction: 'outbound',
    trunk: 'echo',
    agent: 'reminder',
    to: '4000',
    codec: 'PCMU',
    sipStatus: 200,
    endReason: 'api-hangup',
  });
  t.ok(record.media !== undefined && record.media.packetsIn > 0, 'RTP came back from the callee');
  t.ok(record.setupMs !== undefined, 'answered');
  t.ok(states.includes('answered') && states.at(-1) === 'ended', `states ${states.join(' → ')}`);
  t.equal(app.calls.get(session.callId)?.cdr?.endReason, 'api-hangup', 'the ended call keeps its record');
  const peer = await sipp.done;
  t.equal(peer.code, 0, `SIPp saw INVITE, ACK and our BYE ${peer.stderr.slice(-300)}`);
});

for (const [trunk, port, scenario] of [
  ['auth', 37011, 'uas_auth.xml'],
  ['proxyauth', 37013, 'uas_proxy_auth.xml'],
] as const) {
  t.test(`digest: ${scenario} challenge answered with the trunk's credentials`, async (t) => {
    const sipp = await sippCallee(t, port, ['-sf', path.join(scenarios, scenario), '-mp', String(port + 20)]);
    const session = app.placeCall({ to: 'alice', trunk, agent: 'reminder' });
    t.ok(await until(() => session.state === 'answered', 15_000), 'answered after the challenge');
    session.hangup();
    const record = await session.done;
    t.match(record, { sipStatus: 200, endReason: 'api-hangup', trunk });
    t.equal((await sipp.done).code, 0, 'SIPp verified the Authorization and got the BYE');
  });
}

t.test('a busy callee: the call ends as busy with 486', async (t) => {
  const sipp = await sippCallee(t, 37012, ['-sf', path.join(scenarios, 'uas_busy.xml')]);
  const record = await app.placeCall({ to: '5000', trunk: 'busy', agent: 'reminder' }).done;
  t.match(record, { direction: 'outbound', sipStatus: 486, endReason: 'busy' });
  t.equal(record.answeredAt, undefined, 'never answered');
  t.equal((await sipp.done).code, 0, 'SIPp got the ACK of its 486');
});

t.test('no answer: CANCEL at the ring timeout', async (t) => {
  const sipp = await sippCallee(t, 37014, ['-sf', path.join(scenarios, 'uas_ring_no_answer.xml')]);
  const session = app.placeCall({ to: '6000', trunk: 'ring', agent: 'reminder', timeoutSec: 1 });
  const states: string[] = [];
  session.events.on('state', (s) => states.push(s));
  const record = await session.done;
  t.match(record, { sipStatus: 408, endReason: 'no-answer' });
  t.ok(states.includes('ringing'), '180 seen as ringing');
  t.equal((await sipp.done).code, 0, 'SIPp got the CANCEL and the ACK of its 487');
});

t.test('a ringing call hung up through the API is CANCELled', async (t) => {
  const sipp = await sippCallee(t, 37015, ['-sf', path.join(scenarios, 'uas_ring_no_answer.xml')]);
  const session = app.placeCall({ to: '6001', trunk: 'ring2', agent: 'reminder' });
  t.ok(await until(() => session.state === 'ringing', 10_000), 'ringing');
  session.hangup();
  const record = await session.done;
  t.match(record, { endReason: 'api-hangup', sipStatus: 487 });
  t.equal((await sipp.done).code, 0);
});

t.test('hung up before any response: over at once, CANCEL left to the transaction', async (t) => {
  // A far end that takes the INVITE and says nothing.
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(37016, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  let invites = 0;
  silent.on('message', (m) => {
    if (m.toString().startsWith('INVITE ')) invites++;
  });
  const session = app.placeCall({ to: '7000', trunk: 'silent', agent: 'reminder' });
  t.ok(await until(() => invites > 0, 5000), 'the INVITE went out');
  session.hangup();
  const record = await session.done;
  t.match(record, { endReason: 'api-hangup', sipStatus: 487 });
  t.equal(app.calls.get(session.callId)?.state, 'ended', 'listed as ended');
});

t.test('a trunk over TCP', async (t) => {
  const sipp = runPeer(
    t,
    'sipp',
    [
      '-sn',
      'uas',
      '-t',
      't1',
      '-i',
      '127.0.0.1',
      '-p',
      '37017',
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '40s',
      '-timeout_error',
    ],
    { timeoutMs: 45_000 },
  );
  const hex = `:${(37017).toString(16).toUpperCase()}`;
  for (let i = 0; i < 200; i++) {
    const table = await readFile('/proc/net/tcp', 'utf8');
    if (table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const session = app.placeCall({ to: '8000', trunk: 'overtcp', agent: 'reminder' });
  t.ok(await until(() => session.state === 'answered', 15_000), 'answered over TCP');
  session.hangup();
  t.match(await session.done, { sipStatus: 200, endReason: 'api-hangup', sourceAddress: /transport=tcp/ });
  const peer = await sipp.done;
  t.equal(peer.code, 0, `SIPp (TCP) saw INVITE, ACK and BYE ${peer.stderr.slice(-300)}`);
});

t.test('requests that cannot be placed name the field', async (t) => {
  const failure = (request: Parameters<GrokSipApp['placeCall']>[0]): unknown => {
    try {
      app.placeCall(request);
    } catch (err) {
      return err;
    }
    return null;
  };
  const noTrunk = failure({ to: '1', trunk: 'nope', agent: 'reminder' });
  t.ok(noTrunk instanceof PlaceCallError);
  t.match(noTrunk, { field: 'trunk', problem: 'unknown-trunk' });
  t.match(failure({ to: '1', trunk: 'echo', agent: 'nobody' }), { field: 'agent', problem: 'unknown-agent' });
});

// Conversation behaviour end to end, with real SIPp callers and the local agent in scripted mode:
// barge-in, DTMF (RFC 4733 and INFO) to the agent, the end_call and transfer tools on the wire,
// the agent lost for good (beeps, then BYE), and 20 concurrent calls with audio.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { ClientEvent } from '../../src/realtime/index.js';
import { runSipp, type PeerResult } from '../sip/support/run-peer.js';
import { captureUdpTo } from './support/rtp-capture.js';
import { spokenPhraseDir } from './support/spoken-phrase.js';

const sipPort = 18100;
const rtpMin = 25100;
const rtpMax = 25299;
const scenarios = path.resolve('sip-config/sipp');

const work = spokenPhraseDir(t, 'conv');
const phraseFrames = readFileSync(path.join(work, 'phrase.ul')).length / 160;

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
  maxCalls: 50
media: { rtpAddress: 127.0.0.1, portMin: ${rtpMin}, portMax: ${rtpMax} }
agents:
  default: assistant
  profiles:
    - name: assistant
      instructions: Help the caller.
      tools:
        - { type: end_call }
        - { type: send_dtmf }
        - { type: transfer, targets: { sales: 'sip:4001@127.0.0.1' } }
    - name: greeter
      instructions: Greet the caller.
      greeting: Welcome to Example Corp.
  routes: [{ match: greet, agent: greeter }]
`,
  {},
);

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let mediaPort = 26100;
// Calls run in call threads: a call's record reaches the app a moment after SIPp has its 200 to
// the BYE, so each SIPp run waits until the app has no call left (its records are in).
let appUnderTest: GrokSipApp | undefined;
async function sipp(t: Tap, scenario: string, user: string, extra: string[] = []): Promise<PeerResult> {
  mediaPort += 10;
  const result = await runSippRaw(t, scenario, user, extra);
  await waitFor('every call record', () => appUnderTest === undefined || appUnderTest.activeCalls() === 0);
  return result;
}
function runSippRaw(t: Tap, scenario: string, user: string, extra: string[]): Promise<PeerResult> {
  return runSipp(
    t,
    `127.0.0.1:${sipPort}`,
    [
      '-sf',
      path.join(scenarios, scenario),
      '-s',
      user,
      '-p',
      String(mediaPort + 5),
      '-mp',
      String(mediaPort),
      ...(extra.includes('-m') ? extra : ['-m', '1', ...extra]),
    ],
    { cwd: work, timeoutSec: 40 },
  );
}
type Tap = { teardown(fn: () => unknown): void };

/** The app, its CDRs, and the events the local agent received since `mark()`. */
async function startApp(
  t: Tap,
  localAgent: Parameters<typeof startGrokSip>[1] = {},
): Promise<{
  app: GrokSipApp;
  records: CallDetailRecord[];
}> {
  const app = await startGrokSip(config, { localAgent: { mode: 'scripted', ...localAgent.localAgent } });
  appUnderTest = app;
  t.teardown(() => app.stop());
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (r) => records.push(r));
  return { app, records };
}

function userTexts(events: readonly { event: ClientEvent }[]): string[] {
  const texts: string[] = [];
  for (const { event } of events) {
    if (event.type === 'conversation.item.create' && event.item.type === 'message') {
      texts.push(event.item.content.map((c) => c.text).join(' '));
    }
  }
  return texts;
}

t.test('conversation', async (t) => {
  const { app, records } = await startApp(t);
  const agent = app.localAgent!;
  const connected = async (n: number): Promise<void> => {
    await waitFor('the call to be connected', () => app.activeCalls() === 1 && agent.openConnections() === 1);
    await waitFor('session.update', () => agent.connectionsAccepted() >= n);
    await sleep(300); // the ACK and the media clock's first ticks
  };

  await t.test('the greeting is spoken at answer', async (t) => {
    const from = agent.received.length;
    const result = await sipp(t, 'uac_dtmf.xml', 'greet');
    t.equal(result.code, 0, 'SIPp call completed');
    const first = agent.received.slice(from).find((e) => e.event.type === 'response.create')?.event;
    t.match(
      first?.type === 'response.create' ? first.response?.instructions : undefined,
      /Welcome to Example Corp\./,
      'the first response asks for the greeting, verbatim',
    );
    const record = records.at(-1)!;
    t.equal(record.agent, 'greeter');
    t.ok(
      record.firstAgentAudioMs !== undefined,
      `the caller heard the agent (${record.firstAgentAudioMs} ms after the answer)`,
    );
  });

  await t.test('barge-in stops agent audio within 40 ms of speech_started', async (t) => {
    const capture = await captureUdpTo(t, mediaPort + 10, path.join(work, 'barge.pcap'));
    const call = sipp(t, 'uac_speak_late_pcmu.xml', '4000');
    await connected(2);
    const fromEvent = agent.received.length;
    const startedAtMs = Date.now();
    agent.runStep({ kind: 'long_response', durationMs: 8000 });
    const result = await call;
    const packets = (await capture.stop()).filter((p) => p.srcPort >= rtpMin && p.srcPort <= rtpMax);
    t.equal(
      result.code,
      0,
      `SIPp call completed${result.code ? `: ${result.stdout.slice(-1500)} ${result.stderr.slice(-500)}` : ''}`,
    );

    const speech = agent.sent.find(
      (e) => e.type === 'input_audio_buffer.speech_started' && e.atMs > startedAtMs,
    );
    t.ok(speech, 'the agent heard the caller start speaking');
    const atMs = speech!.atMs;
    const before = packets.filter((p) => p.atUs / 1000 <= atMs).length;
    const after = packets.filter((p) => p.atUs / 1000 > atMs && p.atUs / 1000 < atMs + 1000);
    t.ok(before > 50, `the agent was talking: ${before} packets before speech_started`);
    const lastMs = after.length === 0 ? 0 : after.at(-1)!.atUs / 1000 - atMs;
    t.ok(
      after.length <= 2,
      `${after.length} agent packets after speech_started (last ${lastMs.toFixed(1)} ms after): at most 2 frames = 40 ms`,
    );

    const sent = agent.received.slice(fromEvent).filter((e) => e.atMs >= atMs);
    const cancel = sent.find((e) => e.event.type === 'response.cancel');
    t.ok(cancel, 'response.cancel sent');
    const truncate = sent.find((e) => e.event.type === 'conversation.item.truncate')?.event;
    t.ok(truncate, 'conversation.item.truncate sent');
    if (truncate?.type === 'conversation.item.truncate') {
      t.ok(
        Math.abs(truncate.audio_end_ms - before * 20) <= 100,
        `truncated at ${truncate.audio_end_ms} ms, the ${before * 20} ms that left on RTP (±100)`,
      );
    }
    t.equal(records.at(-1)?.bargeIns, 1, 'CDR counts one barge-in');
  });

  await t.test('DTMF by RFC 4733 and by INFO reaches the agent as text', async (t) => {
    const from = agent.received.length;
    const result = await sipp(t, 'uac_dtmf.xml', '4000');
    t.equal(result.code, 0, 'SIPp call completed');
    const texts = userTexts(agent.received.slice(from));
    t.same(texts, [
      '[The caller pressed the telephone key "5".]',
      '[The caller pressed the telephone key "7".]',
    ]);
    t.equal(records.at(-1)?.dtmfDigits, 2, 'CDR counts two digits');
  });

  await t.test('end_call: the farewell plays, then BYE', async (t) => {
    const call = sipp(t, 'uac_recv_bye.xml', '4000');
    await connected(4);
    const from = agent.received.length;
    const doneBefore = agent.sent.filter((e) => e.type === 'response.done').length;
    agent.runStep({ kind: 'say', text: 'Goodbye!', durationMs: 1000 });
    // The agent sends faster than real time: its response is done long before it has played.
    await waitFor(
      'the farewell response',
      () => agent.sent.filter((e) => e.type === 'response.done').length > doneBefore,
    );
    agent.runStep({ kind: 'function_call', name: 'end_call', arguments: '{"reason":"caller said bye"}' });
    const result = await call;
    t.equal(result.code, 0, 'SIPp received our BYE and answered it');
    const record = records.at(-1)!;
    t.equal(record.endReason, 'agent-hangup');
    t.ok(
      record.media!.packetsOut >= 48,
      `the farewell played first: ${record.media!.packetsOut} packets out`,
    );
    const after = agent.received.slice(from).map((e) => e.event.type);
    t.ok(after.includes('conversation.item.create'), 'the function result went back');
    t.notOk(after.includes('response.create'), 'no new response was asked for after end_call');
  });

  await t.test('transfer: REFER, NOTIFY 200 sipfrag, then BYE', async (t) => {
    const call = sipp(t, 'uac_accept_refer.xml', 'transfer');
    await connected(5);
    agent.runStep({ kind: 'function_call', name: 'transfer_call', arguments: '{"target":"sales"}' });
    const result = await call;
    t.equal(
      result.code,
      0,
      `SIPp saw the REFER to sip:4001@127.0.0.1 and our BYE${result.code ? result.stderr.slice(-300) : ''}`,
    );
    const record = records.at(-1)!;
    t.equal(record.endReason, 'transfer');
    t.equal(record.transferTarget, 'sip:4001@127.0.0.1');
    await waitFor('the agent session closed', () => agent.openConnections() === 0);
  });

  await t.test('refused transfer: the agent comes back and is told', async (t) => {
    const accepted = agent.connectionsAccepted();
    const call = sipp(t, 'uac_refuse_refer.xml', 'transfer');
    await connected(accepted + 1);
    agent.runStep({ kind: 'function_call', name: 'transfer_call', arguments: '{"target":"sales"}' });
    const result = await call;
    t.equal(result.code, 0, 'SIPp refused the REFER and hung up');
    t.equal(agent.connectionsAccepted(), accepted + 2, 'a new agent session was opened after the refusal');
    t.match(userTexts(agent.received).at(-1), /transfer to sip:4001@127\.0\.0\.1 failed \(603/);
    t.equal(records.at(-1)?.endReason, 'remote-bye');
  });

  await t.test('20 concurrent calls with audio', async (t) => {
    const before = records.length;
    const result = await sipp(t, 'uac_speak_pcmu.xml', '4000', [
      '-m',
      '20',
      '-l',
      '20',
      '-r',
      '20',
      '-rp',
      '1000',
    ]);
    t.equal(result.code, 0, `SIPp completed 20 calls${result.code ? result.stderr.slice(-300) : ''}`);
    await waitFor('20 CDRs', () => records.length >= before + 20);
    const calls = records.slice(before);
    t.equal(calls.filter((r) => r.endReason === 'remote-bye').length, 20, 'all 20 ended by the caller');
    t.same(
      calls.map((r) => r.media?.lost),
      Array(20).fill(0),
      'no inbound packet lost on any call',
    );
    const echoed = calls.map((r) => r.media?.packetsOut ?? 0);
    t.ok(
      echoed.every((n) => n >= 0.8 * phraseFrames),
      `every call got its echo back: ${Math.min(...echoed)}–${Math.max(...echoed)} packets out (phrase ${phraseFrames.toFixed(0)} frames)`,
    );
    t.same(
      calls.map((r) => r.media?.playoutUnderruns),
      Array(20).fill(0),
      'no playout underrun on any call',
    );
  });
});

t.test('agent lost for good: beeps, then BYE', async (t) => {
  const { app, records } = await startApp(t);
  const agent = app.localAgent!;
  const call = sipp(t, 'uac_recv_bye.xml', '4000');
  await waitFor('the call', () => app.activeCalls() === 1 && agent.openConnections() === 1);
  await sleep(300);
  // The agent's server goes away: the one reconnect fails.
  await agent.close();
  const result = await call;
  t.equal(result.code, 0, 'SIPp received our BYE');
  const record = records.at(-1)!;
  t.equal(record.endReason, 'agent-failed');
  t.ok(
    record.media!.packetsOut >= 55,
    `the fallback beeps played: ${record.media!.packetsOut} packets (1.2 s = 60)`,
  );
});

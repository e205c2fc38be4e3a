// Whole calls against the local agent behaving as the live Grok service does (issue 15): the
// service ends the realtime session mid-call (max_duration) and the call goes on with audio
// before and after; a barge-in where the server keeps streaming the cancelled answer.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { runSipp } from '../sip/support/run-peer.js';
import { captureUdpTo } from './support/rtp-capture.js';
import { spokenPhraseDir } from './support/spoken-phrase.js';

const sipPort = 22100;
const rtpMin = 22120;
const rtpMax = 22199;
const scenarios = path.resolve('sip-config/sipp');
const work = spokenPhraseDir(t, 'live-calls');

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
media: { rtpAddress: 127.0.0.1, portMin: ${rtpMin}, portMax: ${rtpMax} }
agents:
  default: echo
  profiles:
    - { name: echo, instructions: Repeat what the caller says. }
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

t.test(
  'the service ends the session mid-call (max_duration): the call goes on, audio before and after',
  async (t) => {
    const app = await startGrokSip(config, {
      localAgent: { mode: 'scripted', live: { maxSessionMs: 3000 } },
    });
    t.teardown(() => app.stop());
    const records: CallDetailRecord[] = [];
    app.events.on('call-ended', (r) => records.push(r));
    const agent = app.localAgent!;
    const mediaPort = 22200;
    const capture = await captureUdpTo(
      t,
      mediaPort,
      path.join(work, 'renewal.pcap'),
      `udp and src portrange ${rtpMin}-${rtpMax}`,
    );
    // A quiet caller for 8 s (SIPp's built-in uac sends no RTP); the agent talks in each session.
    const call = runSipp(
      t,
      `127.0.0.1:${sipPort}`,
      [
        '-sn',
        'uac',
        '-s',
        'echo',
        '-p',
        String(sipPort + 5),
        '-mp',
        String(mediaPort),
        '-m',
        '1',
        '-d',
        '8000',
      ],
      { cwd: work, timeoutSec: 40 },
    );
    await waitFor('the call', () => app.activeCalls() === 1 && agent.openConnections() === 1);
    agent.runStep({ kind: 'long_response', durationMs: 1500 });
    await waitFor(
      'the session end and a new session',
      () => agent.connectionsAccepted() >= 2 && agent.openConnections() === 1,
    );
    await sleep(300);
    const renewedAtMs = Date.now();
    agent.runStep({ kind: 'long_response', durationMs: 1500 });
    const result = await call;
    const packets = (await capture.stop()).filter((p) => p.srcPort >= rtpMin && p.srcPort <= rtpMax);
    t.equal(result.code, 0, `SIPp call completed ${result.stderr.slice(-300)}`);
    await waitFor('the CDR', () => records.length === 1);
    const record = records[0]!;
    t.equal(record.endReason, 'remote-bye', 'the caller hung up; the agent never failed');
    t.ok((record.realtimeRenewals ?? 0) >= 1, `realtime sessions renewed: ${record.realtimeRenewals}`);
    const ended = agent.sent.find((e) => e.type === 'error');
    t.ok(ended, 'the agent ended a session with an error (max_duration)');
    const spoken = (p: { payload: Buffer }): boolean => p.payload.some((b) => b !== 0xff && b !== 0x7f);
    const before = packets.filter((p) => p.atUs / 1000 < ended!.atMs && spoken(p)).length;
    const after = packets.filter((p) => p.atUs / 1000 > renewedAtMs && spoken(p)).length;
    t.ok(before > 25, `the caller heard the agent before the session ended (${before} packets)`);
    t.ok(after > 25, `and after the new session took over (${after} packets)`);
    const updates = agent.received.filter((e) => e.event.type === 'session.update');
    t.ok(updates.length >= 2, 'each new session was configured');
  },
);

t.test(
  'barge-in while the server keeps streaming the cancelled answer: the caller hears none of it',
  async (t) => {
    const app = await startGrokSip(config, { localAgent: { mode: 'scripted', live: { cancelLagMs: 1500 } } });
    t.teardown(() => app.stop());
    const records: CallDetailRecord[] = [];
    app.events.on('call-ended', (r) => records.push(r));
    const agent = app.localAgent!;
    const mediaPort = 22220;
    const capture = await captureUdpTo(t, mediaPort, path.join(work, 'barge-slow.pcap'));
    const call = runSipp(
      t,
      `127.0.0.1:${sipPort}`,
      [
        '-sf',
        path.join(scenarios, 'uac_speak_late_pcmu.xml'),
        '-s',
        'echo',
        '-p',
        String(sipPort + 6),
        '-mp',
        String(mediaPort),
        '-m',
        '1',
      ],
      { cwd: work, timeoutSec: 40 },
    );
    await waitFor('the call', () => app.activeCalls() === 1 && agent.openConnections() === 1);
    await sleep(300);
    const startedAtMs = Date.now();
    agent.runStep({ kind: 'long_response', durationMs: 8000 });
    const result = await call;
    const packets = (await capture.stop()).filter((p) => p.srcPort >= rtpMin && p.srcPort <= rtpMax);
    t.equal(result.code, 0, `SIPp call completed ${result.stderr.slice(-300)}`);
    const speech = agent.sent.find(
      (e) => e.type === 'input_audio_buffer.speech_started' && e.atMs > startedAtMs,
    );
    t.ok(speech, 'the caller spoke over the agent');
    const atMs = speech!.atMs;
    const spoken = (p: { payload: Buffer }): boolean => p.payload.some((b) => b !== 0xff && b !== 0x7f);
    const after = packets.filter((p) => p.atUs / 1000 > atMs && p.atUs / 1000 < atMs + 1500 && spoken(p));
    t.ok(
      after.length <= 2,
      `${after.length} agent frames in the 1.5 s the server kept streaming: at most 2 (40 ms)`,
    );
    const before = packets.filter((p) => p.atUs / 1000 <= atMs && spoken(p)).length;
    t.ok(before > 50, `the agent was talking: ${before} packets before speech_started`);
    await waitFor('the CDR', () => records.length === 1);
    t.ok(
      (records[0]!.staleAgentAudioDrops ?? 0) >= 50,
      `dropped and counted: ${records[0]!.staleAgentAudioDrops}`,
    );
  },
);

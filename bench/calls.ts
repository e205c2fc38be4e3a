// `npm run bench calls`: what grok-sip adds to a call, measured on this machine (prints, asserts
// nothing).
//  1. Latency RTP-in → WebSocket-out: a marked frame sent on RTP, timed until the append that
//     carries it leaves for the agent (local agent in this process, VAD off); PCMU pass-through.
//  2. Latency WebSocket-in → RTP-out: the agent starts a response (response.created), timed until
//     the first audio packet of it arrives at the caller's RTP socket.
//  3. CPU per call at 20 and 100 concurrent calls: SIPp callers talk for 30 s (a phrase looped),
//     the local agent runs in its own process (echo), grok-sip's own process CPU is sampled over
//     10 s of steady state.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGrokSip } from '../src/app/grok-sip-app.js';
import { parseConfig } from '../src/config/load-config.js';
import { mediaClock } from '../src/media/media-clock.js';
import { logger } from '../src/observability/logger.js';
import { PortPool } from '../src/media/port-pool.js';
import { RtpSession } from '../src/media/rtp-session.js';
import { startLocalAgent } from '../src/realtime/index.js';
import { EmbeddedBackend } from '../src/signaling/embedded/embedded-backend.js';
import { buildOffer, parseAnswer } from '../src/signaling/sdp/index.js';
import { percentile, spokenPhraseUlaw } from './support/process-sampling.js';

const root = path.resolve(import.meta.dirname, '..');
logger.level = process.env.GROK_SIP_LOG_LEVEL ?? 'warn';
const wallNow = (): number => performance.timeOrigin + performance.now();

function config(sipPort: number, rtpMin: number, agentUrl: string, maxCalls = 200) {
  return parseConfig(
    `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }], maxCalls: ${maxCalls} }
media: { rtpAddress: 127.0.0.1, portMin: ${rtpMin}, portMax: ${rtpMin + 999}, rtpTimeoutSec: 0 }
realtime: { url: '${agentUrl}' }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat. }]
`,
    { XAI_API_KEY: 'bench-not-a-key' },
  );
}

async function latency(): Promise<void> {
  const agent = await startLocalAgent({ mode: 'scripted', vadThresholdDbfs: 0 });
  const app = await startGrokSip(config(19100, 27000, agent.url));
  const caller = new EmbeddedBackend({
    listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }],
    maxCalls: 1,
    retryAfterSec: 5,
    userAgent: 'bench',
    registrations: [],
  });
  await caller.start();
  const pair = await new PortPool({ address: '127.0.0.1', portMin: 28000, portMax: 28099 }).allocate();
  const call = await caller.placeCall({
    target: 'sip:echo@127.0.0.1:19100',
    offerSdp: buildOffer({ address: '127.0.0.1', port: pair.rtpPort, codecs: ['PCMU'] }),
  });
  const n = parseAnswer(call.remoteSdp, { codecs: ['PCMU'] });
  const rtp = new RtpSession({
    pair,
    payloadType: 0,
    remote: { address: n.remoteAddress, port: n.remotePort },
  });

  // 1. RTP-in → WS-out: one marked frame every 250 ms; the rest μ-law silence.
  const silence = Buffer.alloc(160, 0xff);
  const marks: { id: number; sentAtMs: number }[] = [];
  let tickCount = 0;
  const unsubscribe = mediaClock.subscribe({
    tick: (nowMs) => {
      tickCount++;
      if (tickCount % 12 === 0 && marks.length < 120) {
        const id = marks.length;
        const frame = Buffer.from(silence);
        frame.fill(0x80, 0, 8); // loud
        frame.writeUInt16BE(0x1000 + id, 8); // which mark
        marks.push({ id, sentAtMs: wallNow() });
        rtp.sendFrame(frame, nowMs);
      } else {
        rtp.sendFrame(silence, nowMs);
      }
    },
  });
  while (marks.length < 120) await sleep(100);
  await sleep(500);
  unsubscribe();
  const inbound: number[] = [];
  for (const { event, atMs } of agent.received) {
    if (event.type !== 'input_audio_buffer.append') continue;
    const audio = Buffer.from(event.audio, 'base64');
    const at = audio.indexOf(Buffer.alloc(8, 0x80));
    if (at < 0 || at + 10 > audio.length) continue;
    const mark = marks[audio.readUInt16BE(at + 8) - 0x1000];
    if (mark !== undefined) inbound.push(atMs - mark.sentAtMs);
  }

  // 2. WS-in → RTP-out: the first packet of each response, louder than silence.
  const outbound: number[] = [];
  let waitingSince: number | null = null;
  rtp.on('audio', (packet) => {
    if (waitingSince === null) return;
    if (packet.payload.some((b) => (b & 0x7f) < 0x60)) {
      outbound.push(wallNow() - waitingSince);
      waitingSince = null;
    }
  });
  for (let i = 0; i < 60; i++) {
    const before = agent.sent.length;
    agent.runStep({ kind: 'say', text: 'x', durationMs: 100 });
    const created = agent.sent.slice(before).find((e) => e.type === 'response.created');
    waitingSince = created?.atMs ?? wallNow();
    await sleep(300);
  }
  await call.dialog.hangup();
  await rtp.close();
  await pair.close();
  await caller.stop();
  await app.stop();
  await agent.close();

  const row = (name: string, v: number[]): string =>
    `${name.padEnd(28)} n=${String(v.length).padStart(3)}  p50 ${percentile(v, 50).toFixed(1).padStart(5)} ms  p99 ${percentile(v, 99).toFixed(1).padStart(5)} ms  max ${Math.max(
      ...v,
    )
      .toFixed(1)
      .padStart(5)} ms`;
  console.log('added latency, PCMU pass-through, jitter buffer minDelayMs 20 (1 call, loopback):');
  console.log(row('  RTP in  → WebSocket out', inbound));
  console.log(row('  WebSocket in → RTP out', outbound));
  console.log(
    '  (Date.now() resolution 1 ms; includes the 20 ms media clock alignment and, inbound, the jitter buffer)',
  );
}

async function cpuPerCall(calls: number): Promise<void> {
  const agentPort = 19290 + calls;
  const agentProcess = spawn(
    process.execPath,
    ['--import=tsx', 'src/cli/main.ts', 'agent', '--port', String(agentPort)],
    {
      cwd: root,
      stdio: 'ignore',
    },
  );
  await sleep(2500);
  const app = await startGrokSip(config(19200 + calls, 29000, `ws://127.0.0.1:${agentPort}/v1/realtime`));
  const work = mkdtempSync(path.join(tmpdir(), 'grok-sip-bench-'));
  spokenPhraseUlaw(path.join(work, 'p.wav'), path.join(work, 'phrase.ul'));

  const sipp = spawn(
    'sipp',
    [
      `127.0.0.1:${19200 + calls}`,
      '-sf',
      path.join(root, 'sip-config/sipp/uac_talk_long_pcmu.xml'),
      '-s',
      'echo',
      '-m',
      String(calls),
      '-l',
      String(calls),
      '-r',
      '50',
      '-p',
      String(19400 + calls),
      '-mp',
      String(30000 + calls * 10),
      '-nostdin',
      '-timeout',
      '60s',
    ],
    { cwd: work, stdio: 'ignore' },
  );
  const until = Date.now() + 20_000;
  while (app.activeCalls() < calls && Date.now() < until) await sleep(100);
  await sleep(3000);
  const up = app.activeCalls();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(10_000);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const core = (cpu.user + cpu.system) / 1000 / wallMs;
  const records: { media?: { lost: number; playoutUnderruns: number; packetsOut: number } }[] = [];
  app.events.on('call-ended', (r) => records.push(r));
  await new Promise((resolve) => sipp.on('close', resolve));
  await sleep(500);
  await app.stop();
  agentProcess.kill('SIGTERM');
  execFileSync('rm', ['-rf', work]);
  const lost = records.reduce((s, r) => s + (r.media?.lost ?? 0), 0);
  const underruns = records.reduce((s, r) => s + (r.media?.playoutUnderruns ?? 0), 0);
  const echoedPackets = records.reduce((s, r) => s + (r.media?.packetsOut ?? 0), 0);
  console.log(
    `  ${String(calls).padStart(3)} calls (${up} up while sampled): grok-sip process ${(100 * core).toFixed(1)} % of one core, ` +
      `${((100 * core) / up).toFixed(2)} % per call; ${records.length} ended, ${lost} packets lost, ` +
      `${underruns} underruns, ${Math.round(echoedPackets / Math.max(1, records.length))} agent packets out per call`,
  );
}

await latency();
console.log('\nCPU per call (PCMU pass-through, both directions carrying audio, agent in another process):');
await cpuPerCall(20);
await cpuPerCall(100);

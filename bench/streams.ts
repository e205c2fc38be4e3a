// `npm run bench streams`: what a carrier media stream costs grok-sip, next to a SIP call
// (bench/scale.ts). A fresh `grok-sip start` with both stream ingresses and a local echo agent
// process; this process plays Twilio, then Vonage: N streams (GROK_SIP_BENCH_STREAMS, default
// 100) opened through the signed webhooks, each talking both ways (a spoken phrase looped with
// 1.5 s of silence, the agent echoing each turn; marks/notify returned as soon as they arrive).
// Once all are up grok-sip is sampled for GROK_SIP_BENCH_WINDOW_SEC (default 20 s): CPU (/proc,
// the whole process: stream calls run on its main thread), event-loop lag p99, media frames
// out. Benchmarks print numbers; they assert nothing.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { cpuSeconds, rssBytes, waitExit } from './support/process-sampling.js';

const root = path.resolve(import.meta.dirname, '..');
const streams = Number(process.env.GROK_SIP_BENCH_STREAMS ?? 100);
const windowSec = Number(process.env.GROK_SIP_BENCH_WINDOW_SEC ?? 20);
const httpPort = 34901;
const agentPort = 34902;
const twilioToken = 'bench-twilio-token';
const vonageSecret = 'bench-vonage-secret';
const base = `http://127.0.0.1:${httpPort}`;

async function activeCalls(): Promise<number> {
  const res = await fetch(`${base}/healthz`);
  return ((await res.json()) as { activeCalls?: number }).activeCalls ?? 0;
}

async function mainThreadMetrics(): Promise<{ lagP99Ms: number; skippedTicks: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string): number => {
    const m = new RegExp(`^${name}\\{thread="main"\\} ([^ ]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  return {
    lagP99Ms: value('grok_sip_event_loop_lag_p99_seconds') * 1000,
    skippedTicks: value('grok_sip_media_clock_skipped_ticks_total'),
  };
}

interface BenchStream {
  sendFrame(): void;
  framesIn: number;
  close(): void;
}

/** Twilio: signed voice webhook, then connected/start and a media message per 20 ms. */
async function twilioStream(n: number, ulaw: Buffer): Promise<BenchStream> {
  const callSid = `CA${String(n).padStart(32, '0')}`;
  const params: Record<string, string> = {
    AccountSid: 'AC0',
    CallSid: callSid,
    From: '+15550199',
    To: '+15550100',
  };
  let data = `${base}/twilio/voice`;
  for (const k of Object.keys(params).sort()) data += k + params[k];
  const res = await fetch(`${base}/twilio/voice`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': createHmac('sha1', twilioToken).update(data).digest('base64'),
    },
    body: new URLSearchParams(params).toString(),
  });
  const twiml = await res.text();
  const url = /<Stream url="([^"]+)"/.exec(twiml)![1]!;
  const parameters: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)) parameters[m[1]!] = m[2]!;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const streamSid = `MZ${n}`;
  const s: BenchStream = {
    framesIn: 0,
    sendFrame: () => undefined,
    close: () => ws.close(1000),
  };
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as { event: string; mark?: { name: string } };
    if (m.event === 'media') s.framesIn++;
    else if (m.event === 'mark') ws.send(JSON.stringify({ event: 'mark', streamSid, mark: m.mark }));
  });
  ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  ws.send(
    JSON.stringify({
      event: 'start',
      start: {
        accountSid: 'AC0',
        streamSid,
        callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: parameters,
      },
      streamSid,
    }),
  );
  let chunk = 0;
  s.sendFrame = () => {
    const at = (chunk * 160) % (ulaw.length - 160);
    chunk++;
    if (ws.readyState !== WebSocket.OPEN) return;
    const payload = ulaw.subarray(at, at + 160).toString('base64');
    ws.send(
      `{"event":"media","streamSid":"${streamSid}","media":{"track":"inbound","chunk":"${chunk}","timestamp":"${chunk * 20}","payload":"${payload}"}}`,
    );
  };
  return s;
}

function vonageJwt(body: string): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    payload_hash: createHash('sha256').update(body).digest('hex'),
  })}`;
  return `${head}.${createHmac('sha256', vonageSecret).update(head).digest('base64url')}`;
}

/** Vonage: signed answer webhook, then websocket:connected and a 640-byte frame per 20 ms. */
async function vonageStream(n: number, pcm: Buffer): Promise<BenchStream> {
  const uuid = randomUUID();
  const q = new URLSearchParams({ to: '447700900100', from: '447700900999', uuid });
  const res = await fetch(`${base}/vonage/answer?${q.toString()}`, {
    headers: { authorization: `Bearer ${vonageJwt('')}` },
  });
  const endpoint = (
    (await res.json()) as {
      endpoint: { uri: string; 'content-type': string; headers: Record<string, string> }[];
    }[]
  )[0]!.endpoint[0]!;
  const ws = new WebSocket(endpoint.uri);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const s: BenchStream = { framesIn: 0, sendFrame: () => undefined, close: () => ws.close(1000) };
  ws.on('message', (raw, isBinary) => {
    if (isBinary) s.framesIn++;
    else {
      const m = JSON.parse(String(raw)) as { action?: string; payload?: unknown };
      if (m.action === 'notify') ws.send(JSON.stringify({ event: 'websocket:notify', payload: m.payload }));
    }
  });
  ws.send(
    JSON.stringify({
      event: 'websocket:connected',
      'content-type': endpoint['content-type'],
      ...endpoint.headers,
    }),
  );
  let frame = n * 7;
  s.sendFrame = () => {
    const at = (frame++ * 640) % (pcm.length - 640);
    if (ws.readyState === WebSocket.OPEN) ws.send(pcm.subarray(at, at + 640), { binary: true });
  };
  return s;
}

const work = mkdtempSync(path.join(tmpdir(), 'grok-sip-streams-bench-'));
const wav = path.join(work, 'p.wav');
execFileSync('espeak-ng', ['-w', wav, 'hello this is a load test of the echo agent']);
execFileSync('sox', [wav, '-r', '8000', '-c', '1', '-t', 'ul', path.join(work, 'p.ul'), 'pad', '0', '1.5']);
execFileSync('sox', [
  wav,
  '-r',
  '16000',
  '-c',
  '1',
  '-e',
  'signed',
  '-b',
  '16',
  '-t',
  'raw',
  path.join(work, 'p.raw'),
  'pad',
  '0',
  '1.5',
]);
const ulaw = readFileSync(path.join(work, 'p.ul'));
const pcm = readFileSync(path.join(work, 'p.raw'));
const configFile = path.join(work, 'grok-sip.yaml');
writeFileSync(
  configFile,
  `sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 34903 }]
media: { rtpAddress: 127.0.0.1, portMin: 34910, portMax: 34990, workers: 0 }
realtime:
  url: 'ws://127.0.0.1:${agentPort}/v1/realtime'
http: { address: 127.0.0.1, port: ${httpPort} }
streams:
  maxCalls: ${streams + 10}
  twilio: { publicUrl: '${base}', authToken: '\${TWILIO_AUTH_TOKEN}' }
  vonage: { publicUrl: '${base}', signatureSecret: '\${VONAGE_SIGNATURE_SECRET}' }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat., tools: [] }]
`,
);
const agent = spawn(
  process.execPath,
  ['--import=tsx', 'src/cli/main.ts', 'agent', '--port', String(agentPort)],
  {
    cwd: root,
    stdio: 'ignore',
  },
);
const app = spawn(process.execPath, ['--import=tsx', 'src/cli/main.ts', 'start', '--config', configFile], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    XAI_API_KEY: 'bench-not-a-key',
    GROK_SIP_LOG_LEVEL: 'warn',
    TWILIO_AUTH_TOKEN: twilioToken,
    VONAGE_SIGNATURE_SECRET: vonageSecret,
  },
});
for (let until = Date.now() + 20_000; ;) {
  try {
    await activeCalls();
    break;
  } catch {
    if (Date.now() > until) throw new Error('grok-sip did not come up');
    await sleep(100);
  }
}
await sleep(1000);
const idleRss = rssBytes(app.pid!);

console.log(
  `streams: ${streams} talking streams of each kind, ${windowSec} s sampled once all are up; grok-sip with media.workers 0 (stream calls run on the main thread), one local agent process`,
);
console.log(
  '| ingress | streams | up | grok-sip CPU | per stream | lag p99 ms | skipped ticks | agent frames/stream/s | KB/stream | driver CPU | agent CPU |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const kind of ['twilio', 'vonage'] as const) {
  const opened: BenchStream[] = [];
  for (let i = 0; i < streams; i++) {
    opened.push(await (kind === 'twilio' ? twilioStream(i, ulaw) : vonageStream(i, pcm)));
    if (i % 20 === 19) await sleep(100);
  }
  // One drift-corrected 20 ms pacer for every stream, as a carrier's media clock.
  const started = performance.now();
  let sent = 0;
  const pacer = setInterval(() => {
    const due = Math.floor((performance.now() - started) / 20);
    for (; sent < due; sent++) for (const s of opened) s.sendFrame();
  }, 5);
  for (let until = Date.now() + 30_000; (await activeCalls()) < streams && Date.now() < until;)
    await sleep(250);
  await sleep(5000);
  const up = await activeCalls();
  const before = await mainThreadMetrics();
  const cpu0 = cpuSeconds(app.pid!);
  const agent0 = cpuSeconds(agent.pid!);
  const self0 = process.cpuUsage();
  const frames0 = opened.reduce((n, s) => n + s.framesIn, 0);
  const t0 = performance.now();
  await sleep(windowSec * 1000);
  const wall = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(app.pid!) - cpu0) / wall;
  const agentCpu = (cpuSeconds(agent.pid!) - agent0) / wall;
  const self = process.cpuUsage(self0);
  const driverCpu = (self.user + self.system) / 1e6 / wall;
  const frames = opened.reduce((n, s) => n + s.framesIn, 0) - frames0;
  const after = await mainThreadMetrics();
  const rss = rssBytes(app.pid!);
  clearInterval(pacer);
  for (const s of opened) s.close();
  for (let until = Date.now() + 20_000; (await activeCalls()) > 0 && Date.now() < until;) await sleep(250);
  console.log(
    `| ${kind} | ${streams} | ${up} | ${(100 * cpu).toFixed(0)} % | ${((100 * cpu) / Math.max(1, up)).toFixed(3)} % | ${after.lagP99Ms.toFixed(1)} | ${after.skippedTicks - before.skippedTicks} | ` +
      `${(frames / wall / Math.max(1, up)).toFixed(1)} | ${((rss - idleRss) / Math.max(1, up) / 1024).toFixed(0)} | ${(100 * driverCpu).toFixed(0)} % | ${(100 * agentCpu).toFixed(0)} % |`,
  );
  await sleep(2000);
}
app.kill('SIGTERM');
await waitExit(app, 40_000);
agent.kill('SIGTERM');
await waitExit(agent, 5000);
rmSync(work, { recursive: true, force: true });

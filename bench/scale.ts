// `npm run bench scale`: how many talking calls this machine carries. For each step (default
// 100/250/500/750/1000/1500 calls; GROK_SIP_BENCH_STEPS=100,250 to choose) a fresh grok-sip
// process (`grok-sip start`), local echo agent process(es) and one SIPp are started; SIPp places
// the calls at 50/s, each talking both ways (a spoken phrase looped on RTP, the agent echoes each
// turn), and once all are up grok-sip is sampled for GROK_SIP_BENCH_WINDOW_SEC (default 20 s):
// CPU (/proc), event-loop lag p99 per thread and skipped media ticks (/metrics), RSS. The CDR file
// gives setup, agent packets per call, first agent audio and loss. Prints one table and the largest
// step that meets every criterion of issue 16. Benchmarks print numbers; they assert nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cpuSeconds,
  metricSamples,
  percentile,
  rssBytes,
  spokenPhraseUlaw,
  waitExit,
} from './support/process-sampling.js';

const root = path.resolve(import.meta.dirname, '..');
const steps = (process.env.GROK_SIP_BENCH_STEPS ?? '100,250,500,750,1000,1500')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const windowSec = Number(process.env.GROK_SIP_BENCH_WINDOW_SEC ?? 20);
// One agent process: grok-sip has one realtime URL (the agent takes ~0.07 % of a core per call).
const agentCount = 1;
const ratePerSec = Number(process.env.GROK_SIP_BENCH_RATE ?? 50);
const workers = process.env.GROK_SIP_BENCH_WORKERS ?? 'auto';

const sipPort = 24060;
const httpPort = 24090;
const agentPortBase = 24070;
const rtpMin = 30000;
const sippMediaPort = 50000;

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  return res.text();
}

function sum(map: Map<string, number>): number {
  let s = 0;
  for (const v of map.values()) s += v;
  return s;
}

/** p-quantile of a Prometheus histogram from bucket counts (upper bound of the bucket). */
function histogramQuantile(text: string, name: string, p: number): number {
  const buckets = [...metricSamples(text, `${name}_bucket`).entries()]
    .map(([labels, count]) => ({ le: Number(/le="([^"]+)"/.exec(labels)?.[1] ?? NaN), count }))
    .filter((b) => !Number.isNaN(b.le) || true)
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  for (const b of buckets) if (b.count >= p * total) return b.le;
  return Infinity;
}

async function waitForHttp(until: number): Promise<void> {
  while (Date.now() < until) {
    try {
      await scrape();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('grok-sip did not come up');
}

interface StepResult {
  calls: number;
  up: number;
  cpuPerCallPct: number;
  cpuTotalPct: number;
  lag: string;
  lagP99MaxMs: number;
  skippedTicks: number;
  lateTicks: number;
  agentPacketsP50: number;
  callsWithoutAgentAudio: number;
  turnLatencyP50Ms: number;
  setupP50Ms: number;
  setupP99Ms: number;
  memoryPerCallKb: number;
  steadyRssBytes: number;
  lost: number;
  ended: number;
  failed: number;
  sippCpuPct: number;
  agentCpuPct: number;
}

function phrase(work: string): void {
  spokenPhraseUlaw(path.join(work, 'p.wav'), path.join(work, 'phrase.ul'));
}

async function step(calls: number, work: string): Promise<StepResult> {
  const cdrFile = path.join(work, `cdr-${calls}.jsonl`);
  const configFile = path.join(work, `grok-sip-${calls}.yaml`);
  rmSync(cdrFile, { force: true });
  const agents: ChildProcess[] = [];
  for (let i = 0; i < agentCount; i++) {
    agents.push(
      spawn(
        process.execPath,
        ['--import=tsx', 'src/cli/main.ts', 'agent', '--port', String(agentPortBase + i)],
        {
          cwd: root,
          stdio: 'ignore',
        },
      ),
    );
  }
  writeFileSync(
    configFile,
    `sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
  maxCalls: ${calls + 50}
  limits: { requestsPerSec: 1000, requestBurst: 2000 }
media: { rtpAddress: 127.0.0.1, portMin: ${rtpMin}, portMax: ${rtpMin + 2 * calls + 200}, rtpTimeoutSec: 0, workers: ${workers} }
realtime:
  url: 'ws://127.0.0.1:${agentPortBase}/v1/realtime'
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat., tools: [] }]
http: { address: 127.0.0.1, port: ${httpPort} }
cdr: { file: '${cdrFile}' }
`,
  );
  const extraNodeArgs = (process.env.GROK_SIP_BENCH_NODE_ARGS ?? '').split(' ').filter((s) => s !== '');
  const app = spawn(
    process.execPath,
    [...extraNodeArgs, '--import=tsx', 'src/cli/main.ts', 'start', '--config', configFile],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, XAI_API_KEY: 'bench-not-a-key', GROK_SIP_LOG_LEVEL: 'warn' },
    },
  );
  await waitForHttp(Date.now() + 20_000);
  await sleep(1000);
  const idleRss = rssBytes(app.pid!);

  const rampSec = calls / ratePerSec;
  const callMs = Math.round((rampSec + 10 + windowSec + 5) * 1000);
  const sipp = spawn(
    'sipp',
    [
      `127.0.0.1:${sipPort}`,
      '-sf',
      path.join(root, 'sip-config/sipp/uac_talk_pcmu.xml'),
      '-s',
      'echo',
      '-d',
      String(callMs),
      '-m',
      String(calls),
      '-l',
      String(calls),
      '-r',
      String(ratePerSec),
      '-p',
      String(sipPort + 1),
      '-mp',
      String(sippMediaPort),
      '-nostdin',
      '-timeout',
      `${Math.ceil(callMs / 1000 + rampSec + 60)}s`,
      '-max_socket',
      '100000',
    ],
    { cwd: work, stdio: 'ignore' },
  );

  const activeCalls = async (): Promise<number> =>
    sum(metricSamples(await scrape(), 'grok_sip_active_calls'));
  const until = Date.now() + (rampSec + 30) * 1000;
  while ((await activeCalls()) < calls && Date.now() < until) await sleep(250);
  await sleep(5000);
  const up = await activeCalls();
  const before = await scrape(); // also resets prom-client's event-loop delay monitor
  const cpu0 = cpuSeconds(app.pid!);
  const sippCpu0 = cpuSeconds(sipp.pid!);
  const agentCpu0 = agents.reduce((s, a) => s + cpuSeconds(a.pid!), 0);
  const t0 = Date.now();
  await sleep(windowSec * 1000);
  const after = await scrape();
  const wallSec = (Date.now() - t0) / 1000;
  const cpu = (cpuSeconds(app.pid!) - cpu0) / wallSec;
  const sippCpu = (cpuSeconds(sipp.pid!) - sippCpu0) / wallSec;
  const agentCpu = (agents.reduce((s, a) => s + cpuSeconds(a.pid!), 0) - agentCpu0) / wallSec;
  const steadyRss = rssBytes(app.pid!);

  // Lag p99 per thread: grok_sip_event_loop_lag_p99_seconds{thread} when present, else prom-client's main-thread one.
  let lagByThread = metricSamples(after, 'grok_sip_event_loop_lag_p99_seconds');
  if (lagByThread.size === 0)
    lagByThread = new Map([
      ['{thread="main"}', metricSamples(after, 'grok_sip_nodejs_eventloop_lag_p99_seconds').get('') ?? NaN],
    ]);
  const lagEntries = [...lagByThread.entries()].map(([labels, v]) => ({
    thread: /thread="([^"]+)"/.exec(labels)?.[1] ?? 'main',
    ms: v * 1000,
  }));
  const lagP99MaxMs = Math.max(...lagEntries.map((e) => e.ms));
  const lag =
    lagEntries.length <= 2
      ? lagEntries.map((e) => `${e.thread} ${e.ms.toFixed(1)}`).join(', ')
      : `${lagEntries.length} threads, max ${lagP99MaxMs.toFixed(1)}`;
  const counterDelta = (name: string): number =>
    sum(metricSamples(after, name)) - sum(metricSamples(before, name));
  const skippedTicks = counterDelta('grok_sip_media_clock_skipped_ticks_total');
  const lateTicks = counterDelta('grok_sip_media_clock_late_ticks_total');
  const turnLatencyP50Ms = histogramQuantile(after, 'grok_sip_turn_latency_seconds', 0.5) * 1000;

  await waitExit(sipp, (callMs + rampSec * 1000 + 90_000) * 1.2);
  await sleep(2000);
  app.kill('SIGTERM');
  await waitExit(app, 40_000);
  for (const a of agents) a.kill('SIGTERM');
  await Promise.all(agents.map((a) => waitExit(a, 5000)));

  const records = existsSync(cdrFile)
    ? readFileSync(cdrFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(
          (l) =>
            JSON.parse(l) as {
              endReason: string;
              setupMs?: number;
              firstAgentAudioMs?: number;
              media?: { packetsOut: number; lost: number };
            },
        )
    : [];
  const ended = records.filter((r) => r.endReason === 'remote-bye');
  const setups = records.flatMap((r) => (r.setupMs === undefined ? [] : [r.setupMs]));
  const agentPackets = ended.map((r) => r.media?.packetsOut ?? 0);
  return {
    calls,
    up,
    cpuTotalPct: 100 * cpu,
    cpuPerCallPct: (100 * cpu) / Math.max(1, up),
    lag,
    lagP99MaxMs,
    skippedTicks,
    lateTicks,
    agentPacketsP50: percentile(agentPackets, 50),
    callsWithoutAgentAudio: ended.filter((r) => (r.media?.packetsOut ?? 0) === 0).length,
    turnLatencyP50Ms,
    setupP50Ms: percentile(setups, 50),
    setupP99Ms: percentile(setups, 99),
    memoryPerCallKb: (steadyRss - idleRss) / Math.max(1, up) / 1024,
    steadyRssBytes: steadyRss,
    lost: records.reduce((s, r) => s + (r.media?.lost ?? 0), 0),
    ended: ended.length,
    failed: records.length - ended.length + Math.max(0, calls - records.length),
    sippCpuPct: 100 * sippCpu,
    agentCpuPct: 100 * agentCpu,
  };
}

function meets(r: StepResult): boolean {
  return (
    r.up === r.calls &&
    r.lagP99MaxMs < 20 &&
    r.skippedTicks === 0 &&
    r.callsWithoutAgentAudio === 0 &&
    r.lost === 0 &&
    r.failed === 0 &&
    r.cpuPerCallPct <= 0.1 &&
    r.memoryPerCallKb <= 200
  );
}

const work = mkdtempSync(path.join(tmpdir(), 'grok-sip-scale-'));
phrase(work);
console.log(
  `scale: ${steps.join('/')} talking calls at ${ratePerSec}/s, ${windowSec} s sampled once all are up, ` +
    `media.workers ${workers}, ${agentCount} local agent process(es), SIPp; ${process.env.GROK_SIP_BENCH_NODE_ARGS ?? ''}`,
);
const header =
  '| calls | up | grok-sip CPU | per call | lag p99 ms (thread) | skipped/late ticks | agent pkts/call p50 | no agent audio | turn→agent audio p50 | setup p50/p99 ms | KB/call | lost | failed | SIPp CPU | agent CPU |';
console.log(header);
console.log(
  '|' +
    header
      .split('|')
      .slice(1, -1)
      .map(() => '---')
      .join('|') +
    '|',
);
const results: StepResult[] = [];
for (const calls of steps) {
  const r = await step(calls, work);
  results.push(r);
  console.log(
    `| ${r.calls} | ${r.up} | ${r.cpuTotalPct.toFixed(0)} % | ${r.cpuPerCallPct.toFixed(3)} % | ${r.lag} | ${r.skippedTicks}/${r.lateTicks} | ` +
      `${r.agentPacketsP50} | ${r.callsWithoutAgentAudio} | ${r.turnLatencyP50Ms.toFixed(0)} ms | ${r.setupP50Ms}/${r.setupP99Ms} | ` +
      `${r.memoryPerCallKb.toFixed(0)} | ${r.lost} | ${r.failed} | ${r.sippCpuPct.toFixed(0)} % | ${r.agentCpuPct.toFixed(0)} % |`,
  );
  await sleep(2000);
}
// RSS per call above: (steady − idle) / calls, which at small steps is mostly the threads' own
// heaps growing; the slope between steps is the cost of one more call.
const slopes = results
  .slice(1)
  .map(
    (r, i) =>
      `${results[i]!.calls}→${r.calls}: ${((r.steadyRssBytes - results[i]!.steadyRssBytes) / (r.up - results[i]!.up) / 1024).toFixed(0)} KB`,
  );
if (slopes.length > 0) console.log(`RSS per added call between steps: ${slopes.join(', ')}`);
const best = results.filter(meets).at(-1);
// The same without the two budgets (CPU and memory per call): where the machine stops coping.
const clean = results
  .filter(
    (r) => r.up === r.calls && r.lagP99MaxMs < 20 && r.skippedTicks === 0 && r.callsWithoutAgentAudio === 0,
  )
  .filter((r) => r.lost === 0 && r.failed === 0)
  .at(-1);
console.log(
  clean === undefined
    ? 'no step ran clean (lag p99 < 20 ms, 0 skipped ticks, agent audio on every call, 0 lost, 0 failed)'
    : `largest clean step (lag p99 < 20 ms, 0 skipped ticks, agent audio on every call, 0 lost, 0 failed): ${clean.calls} calls`,
);
console.log(
  best === undefined
    ? 'no step met every criterion (lag p99 < 20 ms, 0 skipped ticks, agent audio on every call, 0 lost, 0 failed, ≤ 0.1 % of a core per call, ≤ 200 KB per call)'
    : `largest step meeting every criterion: ${best.calls} calls`,
);
rmSync(work, { recursive: true, force: true });

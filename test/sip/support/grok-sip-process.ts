// `grok-sip start` as an operator runs it, in a child process, for the tests whose question is
// "does the process survive": the fuzz, flood and RFC 4475 tests. Reads /metrics, probes with
// OPTIONS, and reports the process's death (with its output) instead of hanging.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UdpPeer, request, statusOf } from './raw-sip.js';

const root = path.resolve(import.meta.dirname, '..', '..', '..');

export interface GrokSipProcess {
  readonly child: ChildProcess;
  readonly sipPort: number;
  readonly httpPort: number;
  output(): string;
  alive(): boolean;
  /** One metric's value from /metrics (sum over label sets matching `labels`). */
  metric(name: string, labels?: string): Promise<number>;
  /** An OPTIONS from a fresh branch answered 200 within `timeoutMs`. */
  answersOptions(peer: UdpPeer, timeoutMs?: number): Promise<boolean>;
}

interface Tap {
  teardown(fn: () => unknown): void;
}

let probeCount = 0;

/** `sipYaml` is the body of the `sip:` section after the listeners (indented two spaces). */
export async function startGrokSipProcess(
  t: Tap,
  opts: {
    sipPort: number;
    httpPort: number;
    rtpMin: number;
    /** RTP ports from rtpMin (default 200: 100 calls). */
    rtpPorts?: number;
    sipYaml?: string;
    tcp?: boolean;
    /** More listeners, each a YAML flow mapping ('{ transport: tls, address: …, port: …, cert: … }'). */
    listeners?: string[];
    topYaml?: string;
    /** Extra node flags, e.g. --heapsnapshot-signal=SIGUSR2 (a snapshot forces a full GC). */
    nodeArgs?: string[];
  },
): Promise<GrokSipProcess> {
  // Its own directory: tap's t.testdir() empties the test's directory on every call.
  const configDir = mkdtempSync(path.join(tmpdir(), 'grok-sip-process-'));
  t.teardown(() => rmSync(configDir, { recursive: true, force: true }));
  const file = path.join(configDir, 'grok-sip.yaml');
  const listeners = [`{ transport: udp, address: 127.0.0.1, port: ${opts.sipPort} }`];
  if (opts.tcp === true) listeners.push(`{ transport: tcp, address: 127.0.0.1, port: ${opts.sipPort} }`);
  listeners.push(...(opts.listeners ?? []));
  writeFileSync(
    file,
    `sip:
  listen: [${listeners.join(', ')}]
${opts.sipYaml ?? ''}
media: { rtpAddress: 127.0.0.1, portMin: ${opts.rtpMin}, portMax: ${opts.rtpMin + (opts.rtpPorts ?? 200) - 1}, rtpTimeoutSec: 0 }
http: { address: 127.0.0.1, port: ${opts.httpPort} }
shutdown: { drainTimeoutSec: 1 }
${opts.topYaml ?? ''}
agents:
  profiles:
    - { name: echo, instructions: Repeat what the caller says. }
  routes:
    - { match: echo, agent: echo }
`,
  );
  const env = { ...process.env, GROK_SIP_LOG_LEVEL: 'warn' };
  delete (env as Record<string, string | undefined>).XAI_API_KEY;
  delete (env as Record<string, string | undefined>).TAP;
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), '--import=tsx', 'src/cli/main.ts', 'start', '--config', file],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (d: Buffer): void => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const until = Date.now() + 30_000;
  while (!output.includes('answering SIP')) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`grok-sip did not start:\n${output}`);
    await sleep(50);
  }
  const metricsUrl = `http://127.0.0.1:${opts.httpPort}/metrics`;
  return {
    child,
    sipPort: opts.sipPort,
    httpPort: opts.httpPort,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async metric(name, labels) {
      const text = await (await fetch(metricsUrl)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (m === null || m[1] !== name) continue;
        if (labels !== undefined && !(m[2] ?? '').includes(labels)) continue;
        sum += Number(m[3]);
      }
      return sum;
    },
    async answersOptions(peer, timeoutMs = 3000) {
      const n = ++probeCount;
      const callId = `probe-${process.pid}-${n}`;
      const options = request(
        {
          method: 'OPTIONS',
          uri: `sip:probe@127.0.0.1:${opts.sipPort}`,
          branch: `z9hG4bK-probe-${n}`,
          callId,
          cseq: 1,
          rport: true,
        },
        peer.port,
      );
      // Retransmitted like a UAC would (Timer E at a steady 500 ms): a full socket buffer may drop one.
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        peer.send(options, opts.sipPort);
        const left = Math.min(500, until - Date.now());
        const hits = await peer.waitFor((m) => m.includes(callId) && statusOf(m) === 200, 1, left);
        if (hits.length > 0) return true;
      }
      return false;
    },
  };
}

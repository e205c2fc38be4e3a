// CPU of a call's RTP path with and without SRTP, measured: CALLS pairs of RtpSessions over
// loopback, each session sending a 20 ms PCMU frame every tick and receiving its peer's (50
// packets a second each way, as a call), for SECONDS per run; plain and SRTP runs alternate so a
// load change on the machine hits both alike. One session is one call's RTP path (socket receive,
// unprotect, parse, latch, statistics, protect, send): CPU per session = process CPU / sessions.
// Prints numbers, asserts nothing.
//   GROK_SIP_LOG_LEVEL=silent npx tsx bench/srtp-rtp-cpu.ts
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PortPool } from '../src/media/port-pool.js';
import { RtpSession } from '../src/media/rtp-session.js';

const CALLS = Number(process.env.CALLS ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
const host = '127.0.0.1';
const pool = new PortPool({ address: host, portMin: 35500, portMax: 35999 });
const payload = Buffer.alloc(160, 0x7f);

async function run(srtp: boolean): Promise<{ cpuPerSession: number; delivered: number; expected: number }> {
  const sessions: RtpSession[] = [];
  for (let i = 0; i < CALLS; i++) {
    const ka = { suite: 'AES_CM_128_HMAC_SHA1_80' as const, keySalt: randomBytes(30) };
    const kb = { suite: 'AES_CM_128_HMAC_SHA1_80' as const, keySalt: randomBytes(30) };
    const a = new RtpSession({
      pair: await pool.allocate(),
      payloadType: 0,
      rtcpIntervalMs: 5000,
      ...(srtp && { srtp: { local: ka, remote: kb } }),
    });
    const b = new RtpSession({
      pair: await pool.allocate(),
      payloadType: 0,
      rtcpIntervalMs: 5000,
      remote: { address: host, port: a.localPort },
      ...(srtp && { srtp: { local: kb, remote: ka } }),
    });
    a.setRemote({ address: host, port: b.localPort });
    sessions.push(a, b);
  }
  let delivered = 0;
  for (const s of sessions) s.on('audio', () => delivered++);
  // Ticks from a monotonic origin (the media clock's way), not setInterval's drift.
  const start = performance.now();
  const cpu = process.cpuUsage();
  let ticks = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      for (const s of sessions) s.sendFrame(payload, now);
      ticks++;
      if (ticks >= SECONDS * 50) return resolve();
      setTimeout(tick, Math.max(0, start + ticks * 20 - performance.now()));
    };
    tick();
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - start;
  await Promise.all(sessions.map((s) => s.close()));
  const cpuShare = (used.user + used.system) / 1000 / wallMs;
  return { cpuPerSession: (cpuShare * 100) / sessions.length, delivered, expected: ticks * sessions.length };
}

console.log(
  `RTP path CPU, ${CALLS} session pairs (${2 * CALLS} calls' worth), ${SECONDS} s per run, 50 pps each way`,
);
const results: Record<string, number[]> = { plain: [], srtp: [] };
for (let round = 0; round < 3; round++) {
  for (const srtp of [false, true]) {
    const r = await run(srtp);
    results[srtp ? 'srtp' : 'plain']!.push(r.cpuPerSession);
    console.log(
      `  ${srtp ? 'SRTP ' : 'plain'} run ${round + 1}: ${r.cpuPerSession.toFixed(3)} % of a core per call, ` +
        `${r.delivered} of ${r.expected} packets delivered`,
    );
  }
}
const best = (xs: number[]): number => Math.min(...xs);
console.log(
  `best: plain ${best(results.plain!).toFixed(3)} %, SRTP ${best(results.srtp!).toFixed(3)} % of a core per call ` +
    `(+${(best(results.srtp!) - best(results.plain!)).toFixed(3)} points)`,
);

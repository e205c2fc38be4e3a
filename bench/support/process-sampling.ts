// What the call-level benches read off the processes they start: CPU and RSS from /proc, a
// process's end, percentiles, and samples from a Prometheus /metrics text. One place for
// bench/scale.ts, bench/streams.ts and bench/calls.ts.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of a process and all its threads, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Resolves when the child has exited; SIGKILL after `ms`. */
export function waitExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Samples of one metric in a /metrics text: label set → value. */
export function metricSamples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z0-9_:]+)(\{[^}]*\})? ([^ ]+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** Spoken phrase for talking calls: espeak-ng, 8 kHz μ-law, 1.5 s of silence after it (the agent's VAD ends the turn). */
export function spokenPhraseUlaw(wavPath: string, ulawPath: string): void {
  execFileSync('espeak-ng', ['-w', wavPath, 'hello this is a load test of the echo agent']);
  execFileSync('sox', [wavPath, '-r', '8000', '-c', '1', '-t', 'ul', ulawPath, 'pad', '0', '1.5']);
}

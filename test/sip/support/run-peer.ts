// Runs a peer process (sipp, kamailio, baresip) bounded in time; killed in teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Tap } from './sip-endpoint.js';

export interface PeerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** SIPp only: the tail of its error log (-trace_err) when it exited non-zero. */
  errors?: string;
}

export function runPeer(
  t: Tap,
  command: string,
  args: readonly string[],
  opts: { timeoutMs: number; cwd?: string },
): { child: ChildProcess; done: Promise<PeerResult> } {
  const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const done = new Promise<PeerResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  t.teardown(() => {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, done };
}

/** SIPp against the endpoint; `-timeout` makes SIPp itself give up (rc 255) before our kill. */
export async function runSipp(
  t: Tap,
  target: string,
  args: readonly string[],
  opts: { timeoutSec?: number; cwd?: string } = {},
): Promise<PeerResult> {
  const timeoutSec = opts.timeoutSec ?? 30;
  // SIPp's own account of a failed call (unexpected message, timeout) for the assertion message.
  const errorFile = path.join(tmpdir(), `grok-sip-sipp-${randomUUID()}.err`);
  t.teardown(() => rmSync(errorFile, { force: true }));
  const result = await runPeer(
    t,
    'sipp',
    [
      target,
      ...args,
      '-nostdin',
      '-timeout',
      `${timeoutSec}s`,
      '-timeout_error',
      '-recv_timeout',
      '10000',
      '-trace_err',
      '-error_file',
      errorFile,
    ],
    { timeoutMs: (timeoutSec + 5) * 1000, ...(opts.cwd !== undefined && { cwd: opts.cwd }) },
  ).done;
  if (result.code === 0) return result;
  let errors = '';
  try {
    errors = readFileSync(errorFile, 'utf8').slice(-1500);
  } catch {
    // SIPp wrote no error log (e.g. it could not start).
  }
  return { ...result, errors };
}

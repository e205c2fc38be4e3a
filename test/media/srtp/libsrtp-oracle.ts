// Test helper: libsrtp2 (Debian libsrtp2-dev) as an oracle. libsrtp-oracle.c is compiled once per
// checkout into the system temp directory and run with a batch of requests on stdin (it keeps one
// SRTP context for the whole batch, like one direction of a call).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'libsrtp-oracle.c');

export type OracleOp = 'protect-rtp' | 'unprotect-rtp' | 'protect-rtcp' | 'unprotect-rtcp';
const opCodes: Record<OracleOp, number> = {
  'protect-rtp': 0x70, // 'p'
  'unprotect-rtp': 0x75, // 'u'
  'protect-rtcp': 0x50, // 'P'
  'unprotect-rtcp': 0x55, // 'U'
};

export interface OracleResult {
  /** libsrtp's srtp_err_status_t: 0 ok, 7 auth_fail, 9 replay_fail, 10 replay_old. */
  status: number;
  bytes: Buffer;
}

// The ASan run (npm run test:asan) preloads libasan into node; cc and the oracle do without it.
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  return env;
}

/** The compiled oracle's path, or a reason it cannot be built (no cc, no libsrtp2-dev). */
export function buildOracle(): { path: string } | { error: string } {
  const text = readFileSync(source);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const exe = path.join(os.tmpdir(), `grok-sip-libsrtp-oracle-${hash}`);
  if (existsSync(exe)) return { path: exe };
  if (!existsSync('/usr/include/srtp2/srtp.h')) return { error: 'libsrtp2-dev is not installed' };
  const tmp = `${exe}.${process.pid}.tmp`;
  const cc = spawnSync('cc', ['-O2', source, '-lsrtp2', '-o', tmp], { encoding: 'utf8', env: childEnv() });
  if (cc.status !== 0) return { error: `cc failed: ${cc.stderr || cc.error?.message}` };
  renameSync(tmp, exe); // a concurrent run never sees half a file
  return { path: exe };
}

/** Runs one context over `requests` in order. suite '80' | '32'; direction in = receiver. */
export function runOracle(
  exe: string,
  suite: '80' | '32',
  direction: 'in' | 'out',
  keySalt: Uint8Array,
  requests: readonly { op: OracleOp; bytes: Uint8Array }[],
): OracleResult[] {
  const parts: Buffer[] = [];
  for (const r of requests) {
    const head = Buffer.alloc(5);
    head[0] = opCodes[r.op];
    head.writeUInt32LE(r.bytes.length, 1);
    parts.push(head, Buffer.from(r.bytes));
  }
  const run = spawnSync(exe, [suite, direction, Buffer.from(keySalt).toString('hex')], {
    input: Buffer.concat(parts),
    maxBuffer: 64 * 1024 * 1024,
    env: childEnv(),
  });
  if (run.status !== 0) throw new Error(`libsrtp oracle exited ${run.status}: ${String(run.stderr)}`);
  const out = run.stdout;
  const results: OracleResult[] = [];
  for (let at = 0; at < out.length;) {
    const status = out.readInt32LE(at);
    const length = out.readUInt32LE(at + 4);
    results.push({ status, bytes: Buffer.from(out.subarray(at + 8, at + 8 + length)) });
    at += 8 + length;
  }
  if (results.length !== requests.length) {
    throw new Error(`libsrtp oracle answered ${results.length} of ${requests.length} requests`);
  }
  return results;
}

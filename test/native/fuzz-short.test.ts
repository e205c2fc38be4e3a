// A short run of the libFuzzer targets (native/fuzz/, scripts/fuzz.mjs): every target builds with
// clang under ASan + UBSan and runs its share of 30 s from the committed seeds only (a fresh corpus
// under build-fuzz/short/, so the run does not depend on earlier ones), and none crashes or breaks an
// invariant. The full run is `npm run fuzz` (10^7 inputs per target).
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = path.join(root, 'build-fuzz', 'short');
const targets = readdirSync(path.join(root, 'native', 'fuzz'))
  .map((f) => /^fuzz_(\w+)\.cc$/.exec(f)?.[1])
  .filter((name): name is string => name !== undefined);
// Build (seconds when cached, ~10 s from scratch) + 30 s of fuzzing + libFuzzer's start and exit per target.
const runTimeoutMs = 240_000;
t.setTimeout(runTimeoutMs + 30_000);

function runFuzz(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'fuzz.mjs'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

t.test('every fuzz target builds and runs about 30 s in total without a crash', async (t) => {
  t.ok(targets.length >= 5, `fuzz targets found: ${targets.join(', ')}`);
  rmSync(out, { recursive: true, force: true });
  // One target at a time: the suite's other files share the two cores.
  const { code, output } = await runFuzz(['--seconds', '30', '--jobs', '1', '--out', out]);
  const tail = output.split('\n').slice(-120).join('\n');
  for (const target of targets) {
    const line = new RegExp(`^${target}: (\\d+) runs in ([\\d.]+) s \\((\\d+) exec/s\\): (.+)$`, 'm').exec(
      output,
    );
    if (!t.ok(line, `${target} ran and reported`, { output: tail })) continue;
    t.ok(Number(line![1]) > 0, `${target}: ${line![1]} inputs run`);
    t.equal(line![4], 'ok', `${target}: no crash, leak, timeout or broken invariant`, { output: tail });
  }
  t.equal(code, 0, 'scripts/fuzz.mjs exits 0', { output: tail });
});

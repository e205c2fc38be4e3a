import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

function checkConfig(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import=tsx', 'src/cli/main.ts', 'check-config', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, XAI_API_KEY: 'xai-test-not-a-real-key' },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('the shipped config is valid and printed with the key masked', async (t) => {
  const r = checkConfig();
  t.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { sip: { listen: { port: number }[] } };
  t.equal(printed.sip.listen[0]?.port, 5060);
  t.notMatch(r.stdout, /xai-test-not-a-real-key/);
});

t.test('a broken file names the key, the bad value and what is allowed', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, 'sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 70000 }\n');
  const r = checkConfig('--config', file);
  t.equal(r.status, 1);
  t.match(r.stderr, /sip\.listen\[0\]\.port/);
  t.match(r.stderr, /70000/);
});

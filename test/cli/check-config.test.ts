import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTestPki } from '../sip/support/test-certificates.js';

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

t.test('the file as a positional argument, as `promtool check config FILE`', async (t) => {
  const dir = t.testdir();
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'sip:\n  listn: []\n');
  const r = checkConfig(bad);
  t.equal(r.status, 1, 'the positional file is the one checked');
  t.match(r.stderr, /sip\.listn: unknown key/);

  const good = checkConfig('sip-config/grok-sip.yaml');
  t.equal(good.status, 0, good.stderr);
  t.equal((JSON.parse(good.stdout) as { sip: { listen: { port: number }[] } }).sip.listen[0]?.port, 5060);
  const both = checkConfig('sip-config/grok-sip.yaml', '-c', './sip-config/grok-sip.yaml');
  t.equal(both.status, 0, `the same file both ways is fine ${both.stderr}`);
});

t.test('two different files, or two positionals: a usage error, exit 2', async (t) => {
  const dir = t.testdir();
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'sip: 1\n');
  for (const args of [
    ['sip-config/grok-sip.yaml', '--config', bad],
    ['-c', bad, 'sip-config/grok-sip.yaml'],
    ['sip-config/grok-sip.yaml', bad],
  ]) {
    const r = checkConfig(...args);
    t.equal(r.status, 2, args.join(' '));
    t.equal(r.stdout, '', 'nothing checked');
    t.match(r.stderr, /grok-sip check-config: (two different config files|one config file at a time)/);
    t.match(r.stderr, /usage: grok-sip check-config \[FILE\]/);
  }
  const unknown = checkConfig('--conifg', bad);
  t.equal(unknown.status, 2, 'an unknown option too');
  t.match(unknown.stderr, /--conifg/);
});

t.test('a missing file: exit 1, named', async (t) => {
  const missing = path.join(t.testdir(), 'nope.yaml');
  for (const args of [[missing], ['--config', missing]]) {
    const r = checkConfig(...args);
    t.equal(r.status, 1, args.join(' '));
    t.equal(r.stderr.trim(), `${missing}: no such file`);
  }
});

t.test('--help prints both forms and the exit statuses', async (t) => {
  const r = checkConfig('--help');
  t.equal(r.status, 0);
  t.match(r.stdout, /grok-sip check-config \[FILE\]\n\s+grok-sip check-config --config FILE/);
  t.match(r.stdout, /0 valid, 1 invalid/);
});

t.test('TLS listeners: their files are read and checked; a missing key is a problem', async (t) => {
  const dir = t.testdir();
  const pki = makeTestPki(t);
  const { cert, key } = pki.issue('grok-sip', 'DNS:sip.example.test');
  const file = path.join(dir, 'tls.yaml');
  const yaml = (keyFile: string): string =>
    `sip:\n  listen:\n    - { transport: tls, address: 127.0.0.1, port: 5061, cert: '${cert}', key: '${keyFile}' }\nagents:\n  profiles: [{ name: a, instructions: x }]\n`;
  writeFileSync(file, yaml(key));
  const ok = checkConfig(file);
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stderr, /sip\.listen\[0\]: TLS certificate CN=grok-sip, valid until/);
  t.notMatch(ok.stdout + ok.stderr, /PRIVATE KEY/, 'no key material printed');
  writeFileSync(file, yaml(path.join(dir, 'missing.key')));
  const missing = checkConfig(file);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /sip\.listen\[0\]: TLS private key file .*missing\.key: ENOENT/);
});

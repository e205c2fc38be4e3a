#!/usr/bin/env node
// `npm test`: installs the real peers the tests drive when missing (Debian packages, as root),
// runs lint + type-check, then the tap suite, and ends with one plain `N passed, N failed` line.
import { spawnSync, spawn } from 'node:child_process';

const peers = [
  // [command to probe, Debian package(s)]
  ['sipp', 'sip-tester'],
  ['kamailio', 'kamailio'],
  ['sox', 'sox'],
  ['espeak-ng', 'espeak-ng'],
  ['tcpdump', 'tcpdump'],
  ['baresip', 'baresip-core'],
  ['clang-format', 'clang-format'], // npm run lint checks native/ formatting
  // libsrtp2 is the SRTP oracle (test/media/srtp-libsrtp-oracle.test.ts): probed by its header.
  ['test -e /usr/include/srtp2/srtp.h', 'libsrtp2-dev'],
  // Kamailio's TLS module (test/sip/kamailio-tls.test.ts): probed by the module file.
  ['ls /usr/lib/*/kamailio/modules/tls.so', 'kamailio-tls-modules'],
];

function has(probe) {
  const check = probe.includes(' ') ? probe : `command -v ${probe}`;
  return spawnSync('sh', ['-c', check], { stdio: 'ignore' }).status === 0;
}

function installMissingPeers() {
  const missing = peers.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`test peers missing (${missing.join(', ')}) and not root: tests needing them will fail`);
    return;
  }
  console.log(`installing test peers: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  // --no-install-recommends: the baresip metapackage's recommends pull in ffmpeg/gstreamer/gtk.
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
}

function runTap() {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, tail }));
  });
}

installMissingPeers();
const lint = spawnSync('npm', ['run', '-s', 'lint'], { stdio: 'inherit' });
const { code, tail } = await runTap();
// tap's closing summary line looks like `# { total: 12, pass: 11, fail: 1 }`.
const summary = /#\s*\{([^}]*)\}\s*$/m.exec(
  tail
    .trim()
    .split('\n')
    .filter((l) => l.includes('total'))
    .pop() ?? '',
);
const count = (name) => Number(new RegExp(`${name}:\\s*(\\d+)`).exec(summary?.[1] ?? '')?.[1] ?? 0);
let passed = count('pass');
let failed = count('fail');
if (!summary && code !== 0) failed += 1;
if (lint.status === 0) passed += 1;
else {
  console.log('lint / type-check failed');
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && code === 0 ? 0 : 1);

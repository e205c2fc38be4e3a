#!/usr/bin/env node
// `npm run bench`: compiles each bench/*.cc against the native core's sources (same -O3 flags as the
// addon) and speexdsp (the reference; Debian libspeexdsp-dev, installed here when missing), runs them
// one after the other and prints their tables; then runs each bench/*.ts (call-level measurements). Benchmarks print numbers; they assert nothing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { opensslFlags } from './openssl-flags.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'build-bench');
mkdirSync(outDir, { recursive: true });

// The references: speexdsp (resampler, jitter buffer) and libsrtp2 (bench/srtp.cc).
const references = [
  ['/usr/include/speex/speex_resampler.h', 'libspeexdsp-dev'],
  ['/usr/include/srtp2/srtp.h', 'libsrtp2-dev'],
].filter(([header]) => !existsSync(header));
if (references.length > 0 && process.getuid?.() === 0) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', ...references.map(([, pkg]) => pkg)], {
    stdio: 'inherit',
    env,
  });
}
// Libraries a bench needs beyond speexdsp.
const extraLibs = { 'srtp.cc': ['-lsrtp2'] };

const coreSources = readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8')
  .split(/\r?\n/)
  .filter((s) => s && !path.basename(s).startsWith('addon'))
  .map((s) => path.join(root, s));

// srtp.cc needs Node's OpenSSL headers and libcrypto (scripts/openssl-flags.mjs).
const openssl = opensslFlags();

const only = process.argv.slice(2);
const benches = readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.cc'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const scriptBenches = readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

for (const file of benches) {
  const exe = path.join(outDir, file.replace(/\.cc$/, ''));
  const build = spawnSync(
    'g++',
    [
      '-std=c++17',
      '-O3',
      '-I',
      path.join(root, 'native'),
      ...openssl.compile,
      path.join(root, 'bench', file),
      ...coreSources,
      '-lspeexdsp',
      ...(extraLibs[file] ?? []),
      ...openssl.link,
      '-o',
      exe,
    ],
    { stdio: 'inherit' },
  );
  if (build.status !== 0) {
    console.log(`${file}: build failed`);
    continue;
  }
  console.log(`\n=== ${file} ===`);
  spawnSync(exe, [], { stdio: 'inherit' });
}

// TypeScript benches run the real process pieces (SIP, RTP, WebSocket) over loopback.
for (const file of scriptBenches) {
  console.log(`\n=== ${file} ===`);
  spawnSync(process.execPath, ['--import=tsx', path.join(root, 'bench', file)], {
    stdio: 'inherit',
    cwd: root,
  });
}

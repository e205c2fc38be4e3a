#!/usr/bin/env node
// `npm run test:asan`: builds the native core with AddressSanitizer + UBSan (build-asan/) and runs the
// media tests through the TS wrapper against that build. Node itself is not instrumented, so the ASan
// runtime is preloaded; leak checking is off because V8 keeps allocations alive until exit.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const run = (cmd, args, env = process.env) =>
  spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env }).status;

const build = run('npx', ['cmake-js', 'compile', '-O', 'build-asan', '-D', '--CDGROK_SIP_SANITIZE=ON']);
if (build !== 0) process.exit(build ?? 1);

const libasan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
const addon = path.join(root, 'build-asan', 'Debug', 'grok_sip_media.node');
if (!existsSync(libasan) || !existsSync(addon)) {
  console.error(`missing ${existsSync(libasan) ? addon : libasan}`);
  process.exit(1);
}

const env = {
  ...process.env,
  GROK_SIP_ADDON: addon,
  LD_PRELOAD: libasan,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
// Only the media core's tests: they are the ones that cross into native code.
const files = process.argv.slice(2);
const mediaTests = readdirSync(path.join(root, 'test', 'media'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.join('test', 'media', f));
const status = run('npx', ['tap', '--jobs=1', ...(files.length ? files : mediaTests)], env);
process.exit(status ?? 1);

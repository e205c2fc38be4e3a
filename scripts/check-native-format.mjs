#!/usr/bin/env node
// Part of `npm run lint`: native/ (C++ sources and headers, fuzz targets included) must be formatted
// by clang-format with the repository's .clang-format.
//   node scripts/check-native-format.mjs         check (clang-format --dry-run --Werror)
//   node scripts/check-native-format.mjs --fix   reformat in place
// Without clang-format: as root it is installed (Debian package clang-format, as `npm test` does for
// its peers); otherwise a warning is printed and only this check is skipped (exit 0).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const fix = process.argv.includes('--fix');

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function install() {
  console.log('check-native-format: installing clang-format');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'clang-format'], {
    stdio: 'inherit',
    env,
  });
}

// native/**/*.cc and *.h, relative to the repository root, in a stable order.
function sources(dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return sources(rel);
      return /\.(cc|h)$/.test(e.name) ? [rel] : [];
    });
}

if (!has('clang-format')) {
  if (process.getuid?.() === 0 && has('apt-get')) install();
  if (!has('clang-format')) {
    console.warn(
      'check-native-format: WARNING clang-format not found (and not root, or its install failed): ' +
        'native/ formatting NOT checked. Install it with: apt-get install clang-format',
    );
    process.exit(0);
  }
}

const files = sources('native');
const version = spawnSync('clang-format', ['--version'], { encoding: 'utf8' }).stdout.trim();
const args = fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
const result = spawnSync('clang-format', args, { cwd: root, encoding: 'utf8' });
if (result.status !== 0) {
  process.stderr.write(result.stderr);
  const bad = [...new Set([...result.stderr.matchAll(/^(\S+?):\d+:\d+: error:/gm)].map((m) => m[1]))];
  console.error(
    fix
      ? `check-native-format: clang-format -i failed (${version})`
      : `check-native-format: ${bad.length} file(s) not formatted: ${bad.join(', ')}\n` +
          `  fix with: node scripts/check-native-format.mjs --fix (${version}; .clang-format was made with 14)`,
  );
  process.exit(1);
}
console.log(`check-native-format: ${files.length} files ${fix ? 'formatted' : 'ok'} (${version})`);

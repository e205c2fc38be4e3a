#!/usr/bin/env node
// `npm run fuzz`: builds the libFuzzer targets in native/fuzz/ (clang, ASan + UBSan, against the pure
// C++ sources of native/sources.txt, no Node headers) into build-fuzz/ and runs them, one per core.
//   --runs N       inputs per target (default 10^7 unless --seconds is given)
//   --seconds S    total time budget, split evenly across the rounds of targets (both limits apply when both given)
//   --only a,b     only these targets (names without the fuzz_ prefix)
//   --jobs N       targets run side by side (default: one per core)
//   --out DIR      where new corpus, crash inputs and logs go (default build-fuzz)
// Each target starts from its committed seeds (native/fuzz/corpus/<target>/) plus what earlier runs
// found (<out>/corpus/<target>/, where new inputs are written, so the committed seeds stay small).
// Prints runs, seconds, exec/s and the result per target; exits non-zero when a target fails to
// build or run, or finds a crash (the crashing input's path and the sanitizer report are printed).
// Installs clang and its libFuzzer runtime (libclang-rt-<major>-dev) with apt-get when missing, as root.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { opensslFlags } from './openssl-flags.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const fuzzDir = path.join(root, 'native', 'fuzz');
const buildDir = path.join(root, 'build-fuzz');

function parseArgs(argv) {
  const opts = { runs: undefined, seconds: undefined, only: undefined, jobs: undefined, out: buildDir };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--runs') opts.runs = positive(arg, value());
    else if (arg === '--seconds') opts.seconds = positive(arg, value());
    else if (arg === '--only') opts.only = value().split(',').filter(Boolean);
    else if (arg === '--jobs') opts.jobs = positive(arg, value());
    else if (arg === '--out') opts.out = path.resolve(value());
    else usage(`unknown argument ${arg}`);
  }
  if (opts.runs === undefined && opts.seconds === undefined) opts.runs = 10_000_000;
  return opts;
}

function positive(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) usage(`${name} must be a positive integer, got '${text}'`);
  return n;
}

function usage(msg) {
  console.error(
    `fuzz: ${msg}\nusage: node scripts/fuzz.mjs [--runs N] [--seconds S] [--only a,b] [--jobs N] [--out DIR]`,
  );
  process.exit(2);
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function aptInstall(packages) {
  if (process.getuid?.() !== 0) {
    console.error(
      `fuzz: missing ${packages.join(', ')} and not root: install them (apt-get install ${packages.join(' ')})`,
    );
    process.exit(1);
  }
  console.log(`fuzz: installing ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const status = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  }).status;
  if (status !== 0) {
    console.error(`fuzz: apt-get install ${packages.join(' ')} failed`);
    process.exit(1);
  }
}

// clang++ plus libclang_rt.fuzzer (Debian ships it apart from clang, in libclang-rt-<major>-dev).
function ensureToolchain() {
  if (!has('clang++')) aptInstall(['clang']);
  const runtimeDir = spawnSync('clang++', ['-print-runtime-dir'], { encoding: 'utf8' }).stdout.trim();
  const fuzzerLib = path.join(
    runtimeDir,
    `libclang_rt.fuzzer-${os.arch() === 'x64' ? 'x86_64' : os.arch()}.a`,
  );
  if (existsSync(fuzzerLib)) return;
  const major = /clang version (\d+)/.exec(
    spawnSync('clang++', ['--version'], { encoding: 'utf8' }).stdout,
  )?.[1];
  aptInstall([`libclang-rt-${major ?? '14'}-dev`]);
  if (!existsSync(fuzzerLib)) {
    console.error(`fuzz: ${fuzzerLib} still missing after the install`);
    process.exit(1);
  }
}

const flags = [
  '-std=c++17',
  // -O2 rather than libFuzzer's usual -O1: the DSP loops (resampler dot products, PLC pitch search)
  // dominate every target, and -O2 runs them about twice as fast; ASan and UBSan check the same.
  '-O2',
  '-g',
  '-fsanitize=fuzzer,address,undefined',
  '-fno-sanitize-recover=undefined',
  '-fno-omit-frame-pointer',
  '-Wall',
  '-Wextra',
  `-I${path.join(root, 'native')}`,
];
// srtp.cc: Node's OpenSSL headers, the system libcrypto (scripts/openssl-flags.mjs).
const openssl = opensslFlags();
flags.push(...openssl.compile);
// libFuzzer's comparison tracing (trace-cmp) only where a comparison with input bytes guards a
// branch: SRTP's header and tag checks. Elsewhere the comparisons are loop bounds, clipping and
// timeline arithmetic on numbers FuzzedDataProvider already hands out in range, where trace-cmp finds
// nothing to solve but cost half of every target's time (perf: __sanitizer_cov_trace_*cmp8 in the
// jitter buffer's per-sample loops); those keep edge coverage, ASan and UBSan.
const cmpTrace = new Set(['srtp.cc', 'fuzz_srtp.cc']);
const cmpTraceFlags = (src) => (cmpTrace.has(path.basename(src)) ? [] : ['-fno-sanitize-coverage=trace-cmp']);

// The core's pure C++ sources: the addon*.cc files need Node headers and hold no DSP.
const coreSources = readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !path.basename(l).startsWith('addon'))
  .map((l) => path.join(root, l));
const headers = [path.join(root, 'native'), fuzzDir].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.h'))
    .map((f) => path.join(dir, f)),
);
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
const newestInput = Math.max(...headers.map(mtime), mtime(new URL(import.meta.url).pathname));

function compile(args, output) {
  // Written beside the output and renamed: a concurrent run never sees half a file.
  const tmp = `${output}.${process.pid}.tmp`;
  return new Promise((resolve) => {
    const child = spawn('clang++', [...args, '-o', tmp], { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      if (stderr) process.stderr.write(stderr);
      if (code === 0) renameSync(tmp, output);
      resolve(code === 0);
    });
  });
}

// Runs jobs (functions returning promises of a boolean) at most `width` at a time.
async function pool(jobs, width) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

async function build(targets) {
  const objDir = path.join(buildDir, 'obj');
  mkdirSync(objDir, { recursive: true });
  const width = os.availableParallelism?.() ?? os.cpus().length;
  const objects = coreSources.map((src) => path.join(objDir, path.basename(src).replace(/\.cc$/, '.o')));
  const stale = (out, src) => mtime(out) < Math.max(mtime(src), newestInput);
  const objJobs = coreSources
    .map((src, i) => ({ src, obj: objects[i] }))
    .filter(({ src, obj }) => stale(obj, src))
    .map(({ src, obj }) => () => {
      return compile([...flags, ...cmpTraceFlags(src), '-c', src], obj);
    });
  if (!(await pool(objJobs, width)).every(Boolean)) return false;
  const newestObject = Math.max(...objects.map(mtime));
  const linkJobs = targets
    .map((t) => ({ src: path.join(fuzzDir, `fuzz_${t}.cc`), bin: path.join(buildDir, `fuzz_${t}`) }))
    .filter(({ src, bin }) => stale(bin, src) || mtime(bin) < newestObject)
    .map(
      ({ src, bin }) =>
        () =>
          compile([...flags, ...cmpTraceFlags(src), src, ...objects, ...openssl.link], bin),
    );
  return (await pool(linkJobs, width)).every(Boolean);
}

// One target. libFuzzer's output goes to <out>/logs/<target>.<pid>.log, renamed to <target>.log at the
// end: two runs sharing <out> (the corpus is safe to share) never write into one log.
function runTarget(target, opts, seconds) {
  const corpus = path.join(opts.out, 'corpus', target);
  const crashes = path.join(opts.out, 'crashes', target);
  const logs = path.join(opts.out, 'logs');
  for (const d of [corpus, crashes, logs]) mkdirSync(d, { recursive: true });
  const log = path.join(logs, `${target}.${process.pid}.log`);
  const args = [
    corpus,
    path.join(fuzzDir, 'corpus', target),
    `-runs=${opts.runs ?? -1}`,
    ...(seconds ? [`-max_total_time=${seconds}`] : []),
    `-artifact_prefix=${crashes}/`,
    '-timeout=60',
    '-print_final_stats=1',
  ];
  const started = Date.now();
  const fd = openSync(log, 'w');
  const child = spawn(path.join(buildDir, `fuzz_${target}`), args, {
    cwd: root,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
  });
  return new Promise((resolve) => {
    let settled = false;
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      closeSync(fd);
      resolve({
        target,
        runs: 0,
        seconds: 0,
        rate: 0,
        result: `failed to start (${err.message})`,
        log,
        text: '',
      });
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      closeSync(fd);
      const elapsed = (Date.now() - started) / 1000;
      const text = readFileSync(log, 'utf8');
      const done = path.join(logs, `${target}.log`);
      renameSync(log, done);
      const stat = (name) => Number(new RegExp(`stat::${name}:\\s*(\\d+)`).exec(text)?.[1] ?? NaN);
      // After a crash there are no final stats: the last status line (#N ...) counts the runs.
      const lastStatus = [...text.matchAll(/^#(\d+)\s/gm)].pop()?.[1];
      let runs = stat('number_of_executed_units');
      if (Number.isNaN(runs)) runs = Number(lastStatus ?? 0);
      let rate = stat('average_exec_per_sec');
      if (Number.isNaN(rate)) rate = elapsed > 0 ? Math.round(runs / elapsed) : 0;
      const artifact = /Test unit written to (\S+)/.exec(text)?.[1];
      let result = 'ok';
      if (code !== 0 || signal) {
        const kind = artifact ? /^(crash|leak|timeout|oom)/.exec(path.basename(artifact))?.[1] : undefined;
        result = kind ?? `failed (exit ${code ?? signal})`;
      } else if (runs === 0) {
        result = 'no runs';
      }
      resolve({ target, runs, seconds: elapsed, rate, result, artifact, log: done, text });
    });
  });
}

const opts = parseArgs(process.argv.slice(2));
const all = readdirSync(fuzzDir)
  .map((f) => /^fuzz_(\w+)\.cc$/.exec(f)?.[1])
  .filter(Boolean)
  .sort();
const targets = opts.only ?? all;
const unknown = targets.filter((t) => !all.includes(t));
if (unknown.length) usage(`unknown target(s) ${unknown.join(', ')}; targets: ${all.join(', ')}`);

ensureToolchain();
const buildStart = Date.now();
if (!(await build(targets))) {
  console.error('fuzz: build failed');
  process.exit(1);
}
console.log(`fuzz: built ${targets.length} targets in ${((Date.now() - buildStart) / 1000).toFixed(1)} s`);

// Targets run side by side, one process per core (each libFuzzer process is single-threaded); the
// time budget is split over the rounds that takes.
const width = Math.min(opts.jobs ?? os.availableParallelism?.() ?? os.cpus().length, targets.length);
const rounds = Math.ceil(targets.length / width);
const perTarget = opts.seconds ? Math.max(1, Math.floor(opts.seconds / rounds)) : undefined;
const limits = [opts.runs && `${opts.runs} runs`, perTarget && `${perTarget} s`].filter(Boolean).join(' or ');
let failed = 0;
const report = (target, r) => {
  console.log(`${r.target}: ${r.runs} runs in ${r.seconds.toFixed(1)} s (${r.rate} exec/s): ${r.result}`);
  if (r.result === 'ok') return true;
  failed++;
  const lines = r.text.split('\n');
  const from = lines.findIndex((l) => /ERROR: |invariant failed|runtime error|deadly signal/.test(l));
  console.log(
    lines.slice(from >= 0 ? Math.max(0, from - 2) : -40, from >= 0 ? from + 60 : undefined).join('\n'),
  );
  if (r.artifact) {
    console.log(`${r.target}: crashing input: ${r.artifact}`);
    console.log(
      `${r.target}: reproduce: ${path.relative(root, path.join(buildDir, `fuzz_${target}`))} ${r.artifact}`,
    );
  }
  return false;
};
console.log(`fuzz: ${targets.length} targets, ${width} at a time`);
await pool(
  targets.map((target) => async () => {
    console.log(
      `fuzz: ${target}: running (${limits}; log ${path.relative(root, path.join(opts.out, 'logs'))}/${target}.${process.pid}.log)`,
    );
    return report(target, await runTarget(target, opts, perTarget));
  }),
  width,
);
console.log(
  failed ? `fuzz: ${failed} of ${targets.length} targets failed` : `fuzz: all ${targets.length} targets ok`,
);
process.exit(failed ? 1 : 0);

// The library as a user gets it: `npm pack` of this tree, installed into a fresh project in a
// temporary directory (its install script builds the native addon there), the shipped example
// (examples/outbound-reminder.ts) type-checked against the package's .d.ts and compiled, then run:
// it starts grok-sip in its own process, places a call through a trunk to a SIPp callee echoing
// RTP, the scripted local agent calls the example's in-process tool, and the typed events and the
// CDR come out. Deep imports are refused by the `exports` map.
// Ports: SIP 37600, RTP 37610-37619, SIPp callee 37620 (media 37625).
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { runPeer } from '../sip/support/run-peer.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
t.setTimeout(300_000);

const work = mkdtempSync(path.join(tmpdir(), 'grok-sip-packed-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function node(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

t.test('npm pack → install in a fresh project → the example runs a call', async (t) => {
  const packDir = path.join(work, 'pack');
  mkdirSync(packDir);
  await run('npm', ['pack', '--pack-destination', packDir], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  t.ok(tarball, 'npm pack produced a tarball');

  const app = path.join(work, 'consumer');
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run('npm', ['install', path.join(packDir, tarball!), '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: app,
    maxBuffer: 16 * 1024 * 1024,
  });
  const installed = JSON.parse(
    await readFile(path.join(app, 'node_modules/grok-sip/package.json'), 'utf8'),
  ) as {
    exports: unknown;
  };
  t.ok(installed.exports, 'installed with its exports map');

  copyFileSync(path.join(root, 'examples/outbound-reminder.ts'), path.join(app, 'outbound-reminder.ts'));
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        outDir: 'build',
        typeRoots: [path.join(root, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['outbound-reminder.ts'],
    }),
  );
  const tsc = await run(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app }).then(
    () => ({ ok: true, out: '' }),
    (err: { stdout?: string }) => ({ ok: false, out: err.stdout ?? '' }),
  );
  t.ok(tsc.ok, `the example type-checks against the package's .d.ts ${tsc.out}`);

  // A wrong use must not type-check: the types are really there (not any).
  writeFileSync(
    path.join(app, 'wrong.ts'),
    "import { startGrokSip } from 'grok-sip';\nawait startGrokSip({ confg: {} });\n",
  );
  const wrong = await run(
    path.join(root, 'node_modules/.bin/tsc'),
    [
      '--noEmit',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--skipLibCheck',
      '--types',
      'node',
      '--typeRoots',
      path.join(root, 'node_modules/@types'),
      'wrong.ts',
    ],
    { cwd: app },
  ).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? 'failed',
  );
  t.match(wrong, /confg/, 'a misspelt option is a type error');

  const deep = await node(
    [
      '-e',
      "import('grok-sip/dist/app/grok-sip-app.js').then(() => console.log('loaded'), (e) => console.log(e.code))",
    ],
    app,
    {},
  );
  t.match(deep.out, /ERR_PACKAGE_PATH_NOT_EXPORTED/, 'internals are not exported');

  const sipp = runPeer(
    t,
    'sipp',
    [
      '-sn',
      'uas',
      '-i',
      '127.0.0.1',
      '-p',
      '37620',
      '-mi',
      '127.0.0.1',
      '-mp',
      '37625',
      '-rtp_echo',
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '40s',
      '-timeout_error',
    ],
    { timeoutMs: 45_000 },
  );
  const hex = `:${(37620).toString(16).toUpperCase()}`;
  for (let i = 0; i < 200; i++) {
    const table = await readFile('/proc/net/udp', 'utf8');
    if (table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const example = await node([path.join(app, 'build/outbound-reminder.js'), '4000'], app, {
    SIP_PORT: '37600',
    RTP_MIN: '37610',
    RTP_MAX: '37619',
    TRUNK_PROXY: 'sip:127.0.0.1:37620',
    HANGUP_AFTER_MS: '3000',
    XAI_API_KEY: '',
    EXAMPLE_LOCAL_AGENT_SCRIPT: JSON.stringify({
      mode: 'scripted',
      script: { turns: [[{ kind: 'function_call', name: 'lookup_appointment' }]] },
    }),
  });
  const lines = example.out
    .split('\n')
    .filter((l) => !l.startsWith('{"level"'))
    .join('\n');
  t.equal(example.code, 0, `the example exits 0\n${lines.slice(-2000)}`);
  t.match(lines, /call-started outbound 4000 agent=reminder/, 'call-started event');
  t.match(lines, /state answered/, 'state events');
  t.match(lines, /Hello Ada, this is the clinic/, 'variables filled the greeting (transcript event)');
  t.match(lines, /\] lookup_appointment/, 'the in-process tool ran');
  t.match(lines, /function result: \{"date":"Tuesday"/, 'its result reached the agent');
  t.match(lines, /call-ended api-hangup sip=200/, 'call-ended event');
  t.match(lines, /\{"endReason":"api-hangup","sipStatus":200/, 'the CDR from call.done');
  const peer = await sipp.done;
  t.equal(peer.code, 0, `SIPp saw the whole call ${peer.stderr.slice(-500)}`);
});

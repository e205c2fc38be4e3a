// `grok-sip call` as a child process against a grok-sip running in this process (local agent,
// echo): the recorded WAV is the echoed tone; a 404 exits 1 with the status; bad arguments exit 2.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { readWav } from '../../src/media/wav-file.js';

const root = path.resolve(import.meta.dirname, '..', '..');

function grokSipCall(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', 'src/cli/main.ts', 'call', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('a call to a running grok-sip records the echo', async (t) => {
  const app = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: 18700 }, { transport: tcp, address: 127.0.0.1, port: 18700 }] }
media: { rtpAddress: 127.0.0.1, portMin: 25800, portMax: 25899 }
agents:
  profiles: [{ name: echo, instructions: Repeat. }]
  routes: [{ match: echo, agent: echo }]
`,
      {},
    ),
  );
  t.teardown(() => app.stop());
  const dir = t.testdir();

  for (const transport of ['udp', 'tcp']) {
    const out = path.join(dir, `echo-${transport}.wav`);
    const r = await grokSipCall(
      'sip:echo@127.0.0.1:18700',
      '--duration',
      '5',
      '--record',
      out,
      '--transport',
      transport,
      '--json',
    );
    t.equal(r.code, 0, `exit 0 over ${transport} ${r.stderr}`);
    const result = JSON.parse(r.stdout) as {
      setupMs: number;
      firstAudioMs: number;
      rtp: { packetsReceived: number; lost: number };
    };
    t.ok(
      result.setupMs > 0 && result.firstAudioMs > 2000,
      `setup ${result.setupMs} ms, first audio ${result.firstAudioMs} ms (after the 2 s tone)`,
    );
    t.ok(result.rtp.packetsReceived >= 95, `${result.rtp.packetsReceived} packets of echo received`);
    t.equal(result.rtp.lost, 0);
    const recorded = readWav(out);
    t.equal(recorded.sampleRate, 8000);
    const sox = execFileSync('sh', ['-c', `sox "${out}" -n stat 2>&1`], { encoding: 'utf8' });
    const frequency = Number(/Rough\s+frequency:\s+(\d+)/.exec(sox)?.[1]);
    const seconds = Number(/Length \(seconds\):\s+([\d.]+)/.exec(sox)?.[1]);
    t.ok(Math.abs(frequency - 440) <= 10, `the echo is the 440 Hz tone (sox: ${frequency} Hz)`);
    t.ok(seconds >= 1.9, `the whole 2 s came back (${seconds} s)`);
  }

  const human = await grokSipCall('sip:echo@127.0.0.1:18700', '--duration', '1');
  t.equal(human.code, 0);
  t.match(human.stdout, /setup time\s+\d+ ms/);
  t.match(human.stdout, /RTP\s+sent \d+, received \d+, lost \d+, jitter/);

  const missing = await grokSipCall('sip:nobody@127.0.0.1:18700', '--duration', '1');
  t.equal(missing.code, 1, 'a refused call exits 1');
  t.match(missing.stderr, /call to sip:nobody@127\.0\.0\.1:18700 failed: 404 Not Found/);
});

t.test('bad arguments exit 2 with the reason', async (t) => {
  const dir = t.testdir();
  const eightBit = path.join(dir, 'u8.wav');
  execFileSync('sox', [
    '-n',
    '-r',
    '8000',
    '-b',
    '8',
    '-e',
    'unsigned',
    eightBit,
    'synth',
    '0.1',
    'sine',
    '440',
  ]);
  const notWav = path.join(dir, 'x.wav');
  writeFileSync(notWav, 'hello');
  const cases: [string[], RegExp][] = [
    [[], /a SIP URI to call is required/],
    [['http://example.com'], /is not a sip: URI/],
    [['sip:a@127.0.0.1', '--codec', 'G729'], /--codec G729: use PCMU or PCMA/],
    [['sip:a@127.0.0.1', '--play', path.join(dir, 'none.wav')], /--play: ENOENT/],
    [['sip:a@127.0.0.1', '--play', eightBit], /only 16-bit PCM/],
    [['sip:a@127.0.0.1', '--play', notWav], /not a RIFF\/WAVE file/],
    [['sip:a@127.0.0.1', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await grokSipCall(...args);
    t.equal(r.code, 2, `exit 2 for ${args.join(' ') || '(no args)'}`);
    t.match(r.stderr, message);
  }
  const help = await grokSipCall('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: grok-sip call <sip-uri>/);
});

// `grok-sip call` as a child process: against SIPp's built-in uas echoing RTP (the recording is the
// played sweep, by normalised cross-correlation), against a busy SIPp (486 → exit 1), against a
// grok-sip running in this process (local echo agent, UDP and TCP, 404 → exit 1); bad arguments
// exit 2. Digest auth of outbound calls is checked one layer down (EmbeddedBackend.placeCall)
// against a SIPp uas that challenges with 401.
// Ports: SIP 17900–17949, RTP 24000–24099 (caller 24000–24029, SIPp echo 24040, grok-sip 24050+).
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { Resampler } from '../../src/media/resampler.js';
import { readWav } from '../../src/media/wav-file.js';
import { EmbeddedBackend } from '../../src/signaling/embedded/embedded-backend.js';
import { OutboundCallError } from '../../src/signaling/embedded/outbound-call.js';
import { buildOffer } from '../../src/signaling/sdp/index.js';
import { runPeer } from '../sip/support/run-peer.js';
import type { Tap } from '../sip/support/sip-endpoint.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const scenarios = path.join(root, 'sip-config', 'sipp');
const callerRtp = ['--rtp-ports', '24000-24029'];

interface CallResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function grokSipCall(...args: string[]): Promise<CallResult> {
  return grokSipCallWithEnv({}, ...args);
}

function grokSipCallWithEnv(env: Record<string, string>, ...args: string[]): Promise<CallResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', 'src/cli/main.ts', 'call', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** SIPp as a callee on `port`; resolves once its UDP socket is bound (so the INVITE is not retransmitted). */
async function sippUas(
  t: Tap,
  port: number,
  args: readonly string[],
): Promise<{ done: Promise<{ code: number | null; stdout: string; stderr: string }> }> {
  const peer = runPeer(
    t,
    'sipp',
    [
      ...args,
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      '1',
      '-nostdin',
      '-timeout',
      '30s',
      '-timeout_error',
    ],
    { timeoutMs: 35_000 },
  );
  for (let i = 0; i < 200 && !(await udpPortTaken(port)); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  // Wrapped: an async function returning the promise itself would wait for SIPp to exit.
  return { done: peer.done };
}

/** Whether some socket is bound to UDP `port` (read from /proc, so the check itself binds nothing). */
async function udpPortTaken(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const table = await readFile('/proc/net/udp', 'utf8');
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.concat(' ').endsWith(hex));
}

function samples(pcm: Buffer): Float64Array {
  const out = new Float64Array(pcm.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2);
  return out;
}

/** Best normalised cross-correlation of `reference` inside `recorded`, over lags 0..maxLag. */
function bestCorrelation(
  reference: Float64Array,
  recorded: Float64Array,
  maxLag: number,
): { ncc: number; lag: number } {
  let best = { ncc: -1, lag: 0 };
  for (let lag = 0; lag <= maxLag; lag++) {
    const n = Math.min(reference.length, recorded.length - lag);
    if (n <= 0) break;
    let dot = 0;
    let ea = 0;
    let eb = 0;
    for (let i = 0; i < n; i++) {
      const a = reference[i]!;
      const b = recorded[i + lag]!;
      dot += a * b;
      ea += a * a;
      eb += b * b;
    }
    const ncc = ea > 0 && eb > 0 ? dot / Math.sqrt(ea * eb) : 0;
    if (ncc > best.ncc) best = { ncc, lag };
  }
  return best;
}

t.test('a call to SIPp uas with RTP echo records what was played', async (t) => {
  const dir = t.testdir();
  // A 2 s sweep at 16 kHz: not periodic, so only the right alignment correlates; the caller
  // resamples it to 8 kHz, SIPp sends every packet back as it came.
  const played = path.join(dir, 'sweep16k.wav');
  execFileSync('sox', [
    '-n',
    '-r',
    '16000',
    '-b',
    '16',
    '-c',
    '1',
    played,
    'synth',
    '2',
    'sine',
    '300-3000',
    'gain',
    '-6',
  ]);
  const recorded = path.join(dir, 'echo.wav');
  const sipp = await sippUas(t, 17900, ['-sn', 'uas', '-mi', '127.0.0.1', '-mp', '24040', '-rtp_echo']);
  const r = await grokSipCall(
    'sip:echo@127.0.0.1:17900',
    '--play',
    played,
    '--record',
    recorded,
    '--duration',
    '3',
    ...callerRtp,
  );
  t.equal(r.code, 0, `exit 0 ${r.stderr}`);
  t.match(r.stdout, /call to sip:echo@127\.0\.0\.1:17900: answered/);
  const setup = /setup time\s+(\d+) ms \(INVITE → 200 OK\)/.exec(r.stdout);
  const firstAudio = /first audio\s+(\d+) ms after the answer/.exec(r.stdout);
  const stats = /RTP\s+sent (\d+), received (\d+), lost (\d+), jitter ([\d.]+) ms/.exec(r.stdout);
  t.ok(setup, 'setup time printed');
  t.ok(firstAudio, 'time to first audio printed');
  t.ok(stats, 'RTP stats printed');
  t.match(r.stdout, /ended by\s+us \(BYE after --duration\)/);
  t.comment(`SIPp uas: setup ${setup?.[1]} ms, first audio ${firstAudio?.[1]} ms, ${stats?.[0]}`);
  t.ok(Number(stats?.[1]) >= 140, `${stats?.[1]} packets sent in 3 s`);
  t.ok(Number(stats?.[2]) >= 100, `${stats?.[2]} packets echoed`);
  t.equal(Number(stats?.[3]), 0, 'none lost on loopback');
  const sippResult = await sipp.done;
  if (r.code !== 0) t.comment(sippResult.stdout.slice(0, 2500));
  t.equal(sippResult.code, 0, `SIPp saw the whole call (INVITE, ACK, BYE) ${sippResult.stderr.slice(-300)}`);

  const recording = readWav(recorded);
  t.equal(recording.sampleRate, 8000);
  t.equal(recording.channels, 1);
  // What the caller should have sent: the media layer's own 16→8 kHz resampler (its quality
  // against sox is tested in test/media); G.711 and the echo must not change it much more.
  const reference = samples(new Resampler(16000, 8000).process(readWav(played).pcm));
  const { ncc, lag } = bestCorrelation(reference, samples(recording.pcm), 1600);
  t.ok(ncc >= 0.9, `recording correlates with the played sweep: ${ncc.toFixed(3)} at lag ${lag} samples`);
});

t.test('a busy callee: exit 1 naming the status', async (t) => {
  const sipp = await sippUas(t, 17901, ['-sf', path.join(scenarios, 'uas_busy.xml')]);
  const r = await grokSipCall('sip:busy@127.0.0.1:17901', '--duration', '2', ...callerRtp);
  t.equal(r.code, 1, 'a refused call exits 1');
  t.match(r.stderr, /call to sip:busy@127\.0\.0\.1:17901 failed: 486 Busy Here/);
  t.equal((await sipp.done).code, 0, 'SIPp got the ACK of the 486');

  const sippJson = await sippUas(t, 17905, ['-sf', path.join(scenarios, 'uas_busy.xml')]);
  const json = await grokSipCall('sip:busy@127.0.0.1:17905', '--json', ...callerRtp);
  t.equal(json.code, 1);
  t.match(JSON.parse(json.stdout), { ok: false, status: 486, error: /486 Busy Here/ });
  t.equal((await sippJson.done).code, 0);
});

t.test('outbound digest auth: one 401 challenge answered with the call credentials', async (t) => {
  const backend = new EmbeddedBackend({
    listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }],
    maxCalls: 1,
    retryAfterSec: 5,
    userAgent: 'grok-sip-call-test',
    registrations: [],
  });
  await backend.start();
  t.teardown(() => backend.stop());
  const offerSdp = buildOffer({ address: '127.0.0.1', port: 24030, codecs: ['PCMU'] });
  const scenario = path.join(scenarios, 'uas_auth.xml');

  const sipp = await sippUas(t, 17902, ['-sf', scenario]);
  const call = await backend.placeCall({
    target: 'sip:alice@127.0.0.1:17902',
    offerSdp,
    credentials: { username: 'alice', password: 'secret' },
  });
  t.match(call.remoteSdp, /m=audio \d+ RTP\/AVP 0/, 'answered after the challenge');
  await call.dialog.hangup();
  t.equal((await sipp.done).code, 0, 'SIPp verified the Authorization and got the BYE');

  const wrongSipp = await sippUas(t, 17903, ['-sf', scenario]);
  const wrong = await backend
    .placeCall({
      target: 'sip:alice@127.0.0.1:17903',
      offerSdp,
      credentials: { username: 'alice', password: 'wrong' },
    })
    .then(
      () => null,
      (err: unknown) => err,
    );
  t.ok(wrong instanceof OutboundCallError, 'a wrong password fails the call');
  t.equal((wrong as OutboundCallError).status, 403);
  t.match((wrong as Error).message, /403 Forbidden/);
  t.equal((await wrongSipp.done).code, 0);

  const noAuthSipp = runPeer(
    t,
    'sipp',
    ['-sf', scenario, '-i', '127.0.0.1', '-p', '17904', '-m', '1', '-nostdin', '-timeout', '15s'],
    { timeoutMs: 20_000 },
  );
  for (let i = 0; i < 200 && !(await udpPortTaken(17904)); i++) await new Promise((r) => setTimeout(r, 25));
  const unauthorized = await backend.placeCall({ target: 'sip:alice@127.0.0.1:17904', offerSdp }).then(
    () => null,
    (err: unknown) => err,
  );
  t.equal((unauthorized as OutboundCallError).status, 401, 'no credentials: the 401 is the final status');
  t.match((unauthorized as Error).message, /401 Unauthorized/);
  noAuthSipp.child.kill('SIGKILL');

  await t.rejects(
    backend.placeCall({
      target: 'sip:alice@127.0.0.1:17904',
      offerSdp,
      credentials: { username: 'alice', password: '' },
    }),
    TypeError,
    'empty password refused',
  );
});

t.test('a call to a running grok-sip records the echo', async (t) => {
  const app = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: 17910 }, { transport: tcp, address: 127.0.0.1, port: 17910 }] }
media: { rtpAddress: 127.0.0.1, portMin: 24050, portMax: 24099 }
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
      'sip:echo@127.0.0.1:17910',
      '--duration',
      '5',
      '--record',
      out,
      '--transport',
      transport,
      '--json',
      ...callerRtp,
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

  const human = await grokSipCall('sip:echo@127.0.0.1:17910', '--duration', '1', ...callerRtp);
  t.equal(human.code, 0);
  t.match(human.stdout, /setup time\s+\d+ ms/);
  t.match(human.stdout, /RTP\s+sent \d+, received \d+, lost \d+, jitter/);

  const missing = await grokSipCall('sip:nobody@127.0.0.1:17910', '--duration', '1', ...callerRtp);
  t.equal(missing.code, 1, 'a refused call exits 1');
  t.match(missing.stderr, /call to sip:nobody@127\.0\.0\.1:17910 failed: 404 Not Found/);
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
  const float = path.join(dir, 'f32.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-b', '32', '-e', 'float', float, 'synth', '0.1', 'sine', '440']);
  const oddRate = path.join(dir, 'r11025.wav');
  execFileSync('sox', ['-n', '-r', '11025', '-b', '16', oddRate, 'synth', '0.1', 'sine', '440']);
  const notWav = path.join(dir, 'x.wav');
  writeFileSync(notWav, 'hello');
  const cases: [string[], RegExp][] = [
    [[], /a SIP URI to call is required/],
    [['http://example.com'], /is not a sip: URI/],
    [['sip:a@127.0.0.1', '--codec', 'G729'], /--codec G729: use PCMU or PCMA/],
    [['sip:a@127.0.0.1', '--transport', 'sctp'], /--transport sctp: use udp, tcp or tls/],
    [['sip:a@127.0.0.1', '--duration', '0'], /--duration 0: seconds/],
    [['sip:a@127.0.0.1', '--tone', 'loud'], /--tone loud: a frequency/],
    [['sip:a@127.0.0.1', '--rtp-ports', '24001-24001'], /--rtp-ports 24001-24001/],
    [['sip:a@127.0.0.1', '--play', path.join(dir, 'none.wav')], /--play: ENOENT/],
    [['sip:a@127.0.0.1', '--play', eightBit], /only 16-bit PCM/],
    [['sip:a@127.0.0.1', '--play', float], /format 3 with 32-bit samples/],
    [['sip:a@127.0.0.1', '--play', oddRate], /11025 Hz: use 8000, 16000, 24000 or 48000/],
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
  t.match(help.stdout, /--rtp-ports/);
});

t.test('--user with the password from the environment answers a digest challenge', async (t) => {
  const sipp = await sippUas(t, 17906, ['-sf', path.join(scenarios, 'uas_auth.xml')]);
  const r = await grokSipCallWithEnv(
    { GROK_SIP_CALL_PASSWORD: 'secret' },
    'sip:alice@127.0.0.1:17906',
    '--user',
    'alice',
    '--duration',
    '1',
    '--json',
    ...callerRtp,
  );
  t.equal(r.code, 0, `answered after the 401 ${r.stderr}`);
  t.match(JSON.parse(r.stdout), { ok: true });
  t.equal((await sipp.done).code, 0, 'SIPp checked the Authorization');
  t.notMatch(r.stdout + r.stderr, /secret/, 'the password is never printed');

  const missing = await grokSipCall('sip:alice@127.0.0.1:17906', '--user', 'alice');
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--user needs the password in GROK_SIP_CALL_PASSWORD/);
  const badTimeout = await grokSipCall('sip:alice@127.0.0.1:17906', '--timeout', '0');
  t.equal(badTimeout.code, 2);
  t.match(badTimeout.stderr, /--timeout 0: seconds/);
});

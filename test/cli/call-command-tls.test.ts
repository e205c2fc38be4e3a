// `grok-sip call sips:…` over TLS to a running grok-sip with a TLS-only listener: the far end's
// certificate is checked against --tls-ca, the echo comes back; a certificate for another name
// refuses the call; a sips: target without TLS settings is a usage error.
import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import { parseConfig } from '../../src/config/load-config.js';
import { makeTestPki } from '../sip/support/test-certificates.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const TLS_PORT = 36701;
const RTP_MIN = 36720;
const CALLER_RTP = ['--rtp-ports', '36760-36779'];

t.setTimeout(90_000);

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
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('grok-sip call over TLS', async (t) => {
  const pki = makeTestPki(t);
  const server = pki.issue('grok-sip', 'IP:127.0.0.1');
  const client = pki.issue('grok-sip-call', 'IP:127.0.0.1');
  const app = await startGrokSip(
    parseConfig(
      `sip:
  listen:
    - { transport: tls, address: 127.0.0.1, port: ${TLS_PORT}, cert: '${server.cert}', key: '${server.key}' }
media: { rtpAddress: 127.0.0.1, portMin: ${RTP_MIN}, portMax: ${RTP_MIN + 19}, workers: 0 }
agents:
  profiles: [{ name: echo, instructions: Repeat. }]
  routes: [{ match: echo, agent: echo }]
`,
      {},
    ),
  );
  t.teardown(() => app.stop());
  const tls = ['--tls-cert', client.cert, '--tls-key', client.key, '--tls-ca', pki.ca];

  const r = await grokSipCall(
    `sips:echo@127.0.0.1:${TLS_PORT}`,
    ...tls,
    '--duration',
    '4',
    '--json',
    ...CALLER_RTP,
  );
  t.equal(r.code, 0, `exit 0 ${r.stderr}`);
  const result = JSON.parse(r.stdout || '{}') as { ok?: boolean; rtp?: { packetsReceived: number } };
  t.ok(
    (result.rtp?.packetsReceived ?? 0) >= 50,
    `the echo came back (${result.rtp?.packetsReceived} packets)`,
  );

  const wrongName = await grokSipCall(
    `sips:echo@localhost:${TLS_PORT}`,
    ...tls,
    '--duration',
    '2',
    '--timeout',
    '5',
    '--json',
    ...CALLER_RTP,
  );
  t.equal(wrongName.code, 1, 'a certificate that does not name "localhost" refuses the call');
  t.match(wrongName.stdout + wrongName.stderr, /ERR_TLS_CERT_ALTNAME_INVALID/, 'and says why');

  const noCert = await grokSipCall(`sips:echo@127.0.0.1:${TLS_PORT}`, '--duration', '1');
  t.equal(noCert.code, 2, 'sips: without --tls-cert/--tls-key: usage error');
  t.match(noCert.stderr, /--tls-cert and --tls-key/);
  const sipsOverUdp = await grokSipCall(`sips:echo@127.0.0.1:${TLS_PORT}`, '--transport', 'udp');
  t.equal(sipsOverUdp.code, 2, 'sips: over UDP: usage error');
});

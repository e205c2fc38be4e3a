// drachtio-server as a test fixture. It is not packaged for Debian or npm: tests find the binary
// in DRACHTIO_BIN or on PATH and skip (saying why) without it. Runs on loopback with a temporary
// config, admin port for our srf.connect, SIP contact for SIPp; killed in teardown.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Tap {
  teardown(fn: () => unknown): void;
}

/** The drachtio binary, or why there is none. */
export function findDrachtio(): { bin: string } | { skip: string } {
  const fromEnv = process.env.DRACHTIO_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return { bin: fromEnv };
  const which = spawnSync('sh', ['-c', 'command -v drachtio'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found !== '') return { bin: found };
  return {
    skip: 'no drachtio binary (set DRACHTIO_BIN or put drachtio on PATH; drachtio-server is not packaged for Debian or npm)',
  };
}

export async function startDrachtio(
  t: Tap,
  bin: string,
  opts: {
    sipPort: number;
    adminPort: number;
    secret: string;
    /** Outbound mode: drachtio-server connects to this TCP port for each new INVITE. */
    outboundTo?: number;
    /**
     * SIP over TLS on this port too, serving this certificate and key; `chain` is the CA file
     * drachtio-server needs (without one it fails to start: "error loading CA list").
     */
    tls?: { port: number; cert: string; key: string; chain: string };
  },
): Promise<{ log: () => string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'grok-sip-drachtio-'));
  const conf = path.join(dir, 'drachtio.conf.xml');
  writeFileSync(
    conf,
    `<drachtio>
  <admin port="${opts.adminPort}" secret="${opts.secret}">127.0.0.1</admin>
  <sip>
    <contacts>
      <contact>sip:127.0.0.1:${opts.sipPort};transport=udp,tcp</contact>
${opts.tls === undefined ? '' : `      <contact>sips:127.0.0.1:${opts.tls.port};transport=tls</contact>\n`}    </contacts>
${
  opts.tls === undefined
    ? ''
    : `    <tls>
      <key-file>${opts.tls.key}</key-file>
      <cert-file>${opts.tls.cert}</cert-file>
      <chain-file>${opts.tls.chain}</chain-file>
      <min-tls-version>1.2</min-tls-version>
    </tls>
`
}  </sip>
${
  opts.outboundTo === undefined
    ? ''
    : `  <request-handlers>
    <request-handler sip-method="INVITE">tcp://127.0.0.1:${opts.outboundTo}</request-handler>
  </request-handlers>
`
}  <logging>
    <console/>
    <loglevel>info</loglevel>
    <sofia-loglevel>3</sofia-loglevel>
  </logging>
</drachtio>
`,
  );
  if (await portOpen(opts.adminPort)) {
    throw new Error(`admin port ${opts.adminPort} is already taken (a drachtio-server left over?)`);
  }
  // A test process killed at its timeout runs no teardown: setpriv's parent-death signal takes
  // drachtio-server down with it instead of leaving it on the ports for the next run.
  const [cmd, args] = hasSetpriv()
    ? ['setpriv', ['--pdeathsig', 'KILL', bin, '-f', conf, '--stdout']]
    : [bin, ['-f', conf, '--stdout']];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await closed;
    clearTimeout(timer);
  };
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const until = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`drachtio exited: ${log.slice(-800)}`);
    // The SIP sockets bind after the admin port; a bind failure there ends the process.
    if (/Starting sofia event loop/.test(log) && (await portOpen(opts.adminPort))) break;
    if (Date.now() > until)
      throw new Error(`drachtio admin port ${opts.adminPort} never opened: ${log.slice(-800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { log: () => log, stop };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function hasSetpriv(): boolean {
  return spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).status === 0;
}

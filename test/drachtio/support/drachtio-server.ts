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
  opts: { sipPort: number; adminPort: number; secret: string },
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
    </contacts>
  </sip>
  <logging>
    <console/>
    <loglevel>info</loglevel>
    <sofia-loglevel>3</sofia-loglevel>
  </logging>
</drachtio>
`,
  );
  const child = spawn(bin, ['-f', conf, '--stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(opts.adminPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > until)
      throw new Error(`drachtio admin port ${opts.adminPort} never opened: ${log.slice(-800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { log: () => log, stop };
}

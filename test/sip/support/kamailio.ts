// Kamailio as a test fixture: sip-config/kamailio/registrar.cfg copied with the test's port, run in
// the foreground (-DD -E) in its own process group, so teardown stops the main process and its
// forked children together (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tap } from './sip-endpoint.js';

const CFG = fileURLToPath(new URL('../../../sip-config/kamailio/registrar.cfg', import.meta.url));
const STOP_WAIT_MS = 3000;

export interface Kamailio {
  log(): string;
}

export interface KamailioOptions {
  /** Config to run (default sip-config/kamailio/registrar.cfg); its 127.0.0.1:5060 becomes the port. */
  readonly cfg?: string;
  /** More command-line arguments, given the fixture's temporary directory (e.g. -A defines). */
  readonly extraArgs?: (dir: string) => string[];
  /**
   * SIP over TLS on this port too (registrar.cfg's WITH_TLS; its 127.0.0.1:5061 becomes the
   * port), serving this certificate and key; Kamailio does not verify the servers it connects to.
   */
  readonly tls?: { readonly port: number; readonly cert: string; readonly key: string };
}

export async function startKamailio(t: Tap, port: number, options: KamailioOptions = {}): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-kam-'));
  const cfg = join(dir, 'kamailio.cfg');
  let text = readFileSync(options.cfg ?? CFG, 'utf8').replaceAll('127.0.0.1:5060', `127.0.0.1:${port}`);
  const tls = options.tls;
  if (tls !== undefined) {
    text = text.replaceAll('127.0.0.1:5061', `127.0.0.1:${tls.port}`);
    writeFileSync(
      join(dir, 'tls.cfg'),
      [
        '[server:default]',
        'method = TLSv1.2+',
        'verify_certificate = no',
        'require_certificate = no',
        `certificate = ${tls.cert}`,
        `private_key = ${tls.key}`,
        '',
        '[client:default]',
        'method = TLSv1.2+',
        'verify_certificate = no',
        'require_certificate = no',
        '',
      ].join('\n'),
    );
  }
  writeFileSync(cfg, text);
  const child = spawn(
    'kamailio',
    [
      '-f',
      cfg,
      ...(tls !== undefined ? ['-A', 'WITH_TLS'] : []),
      ...(options.extraArgs?.(dir) ?? []),
      '-DD',
      '-E',
      '-m',
      '32',
      '-M',
      '4',
      '-Y',
      dir,
      '-P',
      join(dir, 'kam.pid'),
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // group already gone
    }
  };
  t.teardown(async () => {
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), STOP_WAIT_MS);
    await closed;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  });
  const start = Date.now();
  while (!/SO_RCVBUF is finally/.test(log) && Date.now() - start < 10_000) {
    if (child.exitCode !== null) throw new Error(`kamailio exited: ${log.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  return { log: () => log };
}

// Kamailio as a test fixture: sip-config/kamailio/registrar.cfg copied with the test's port, run in
// the foreground (-DD -E), stopped with SIGTERM to its main process (pid file) in teardown.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPeer } from './run-peer.js';
import type { Tap } from './sip-endpoint.js';

const CFG = fileURLToPath(new URL('../../../sip-config/kamailio/registrar.cfg', import.meta.url));

export interface Kamailio {
  log(): string;
}

export async function startKamailio(t: Tap, port: number): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-kam-'));
  const cfg = join(dir, 'registrar.cfg');
  writeFileSync(cfg, readFileSync(CFG, 'utf8').replaceAll('127.0.0.1:5060', `127.0.0.1:${port}`));
  const pidFile = join(dir, 'kam.pid');
  const { child } = runPeer(
    t,
    'kamailio',
    ['-f', cfg, '-DD', '-E', '-m', '32', '-M', '4', '-Y', dir, '-P', pidFile],
    {
      timeoutMs: 110_000,
    },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  t.teardown(() => {
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
      } catch {
        // already gone
      }
    }
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

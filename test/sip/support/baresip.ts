// A baresip working directory for one test: sip-config/baresip/ with the test's ports, a tone
// file from sox as its microphone (aufile) and a recordings folder, plus what the test adds
// (modules, account parameters); and what baresip recorded, read back with sox.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tap } from './sip-endpoint.js';

const CONFIG_DIR = fileURLToPath(new URL('../../../sip-config/baresip/', import.meta.url));

export interface BaresipSetup {
  readonly sipPort: number;
  /** First of 20 RTP ports. */
  readonly rtpPort: number;
  /** Seconds of 600 Hz tone, then `silenceSec` of silence (while an echo plays back). */
  readonly toneSec: number;
  /** A WAV to speak instead of the tone (converted to 8 kHz mono PCM16, then the silence). */
  readonly sourceWav?: string;
  readonly silenceSec?: number;
  /** Lines appended to the config (e.g. `module\t\t\tsrtp.so`). */
  readonly config?: string;
  /** Appended to the account line (e.g. `;mediaenc=srtp-mand`). */
  readonly accountParams?: string;
}

/** The directory to pass as `baresip -f`; removed at teardown. */
export function baresipDir(t: Tap, setup: BaresipSetup): string {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-baresip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'rec'));
  const tone = join(dir, 'tone.wav');
  const pad = setup.silenceSec ? ['pad', '0', String(setup.silenceSec)] : [];
  if (setup.sourceWav !== undefined) {
    execFileSync('sox', [setup.sourceWav, '-r', '8000', '-c', '1', '-b', '16', tone, ...pad]);
  } else {
    execFileSync('sox', [
      ...['-n', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', tone],
      ...['synth', String(setup.toneSec), 'sine', '600', 'vol', '0.5'],
      ...pad,
    ]);
  }
  const config = readFileSync(join(CONFIG_DIR, 'config'), 'utf8')
    .replace(/^sip_listen.*$/m, `sip_listen\t\t127.0.0.1:${setup.sipPort}`)
    .replace(/^audio_source.*$/m, `audio_source\t\taufile,${tone}`)
    .replace(/^rtp_ports.*$/m, `rtp_ports\t\t${setup.rtpPort}-${setup.rtpPort + 19}`)
    .replace(/^snd_path.*$/m, `snd_path\t\t${join(dir, 'rec')}`)
    .concat(setup.config ?? '');
  writeFileSync(join(dir, 'config'), config);
  const accounts = readFileSync(join(CONFIG_DIR, 'accounts'), 'utf8').replace(
    /^(<sip:[^\n]*)$/m,
    `$1${setup.accountParams ?? ''}`,
  );
  writeFileSync(join(dir, 'accounts'), accounts);
  return dir;
}

/** sox's rough frequency and RMS of what baresip received (its *-dec.wav), or the files it wrote. */
export function receivedTone(dir: string): { frequency: number; rms: number } | { files: string[] } {
  const files = readdirSync(join(dir, 'rec'));
  const received = files.find((f) => /dec\.wav$/.test(f));
  if (received === undefined) return { files };
  const stat = execFileSync('sh', ['-c', `sox "${join(dir, 'rec', received)}" -n stat 2>&1`], {
    encoding: 'utf8',
  });
  return {
    frequency: Number(/Rough\s+frequency:\s+(\d+)/.exec(stat)?.[1]),
    rms: Number(/RMS\s+amplitude:\s+([\d.]+)/.exec(stat)?.[1]),
  };
}

/** What baresip received (its *-dec.wav) as 8 kHz PCM16 little-endian, or undefined. */
export function receivedPcm(dir: string): Buffer | undefined {
  const received = readdirSync(join(dir, 'rec')).find((f) => /dec\.wav$/.test(f));
  if (received === undefined) return undefined;
  return execFileSync('sox', [
    join(dir, 'rec', received),
    ...['-t', 'raw', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'],
  ]);
}

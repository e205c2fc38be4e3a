// Certificates for the TLS tests, made at test time with the openssl CLI into a temporary
// directory (no private key is ever committed): a test CA, server certificates it signs (for
// 127.0.0.1 or for another name), a client certificate it signs, and a self-signed client
// certificate no one trusts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tap } from './sip-endpoint.js';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  /** The test CA's certificate (PEM file). */
  readonly ca: string;
  readonly caPem: Buffer;
  /**
   * A certificate signed by the CA; `san` like 'IP:127.0.0.1' or 'DNS:sip.example.test';
   * `expired`: it ran out a day ago.
   */
  issue(name: string, san: string, options?: { expired?: boolean }): CertFiles;
  /** A self-signed certificate (not from the CA). */
  selfSigned(name: string, san: string): CertFiles;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestPki(t: Tap): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  // EC P-256 keys: made in milliseconds (RSA 2048 takes ~0.1-1 s each).
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=grok-sip test CA',
  ]);
  let serial = 1;
  return {
    dir,
    ca,
    caPem: readFileSync(ca),
    issue(name, san, options = {}) {
      const key = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const cert = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      openssl(['req', '-new', ...ecKey, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
      execFileSync('sh', ['-c', `printf 'subjectAltName=${san}\\n' > '${ext}'`]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca,
        '-CAkey',
        caKey,
        '-set_serial',
        String(serial++),
        '-days',
        options.expired === true ? '-1' : '2',
        '-extfile',
        ext,
        '-out',
        cert,
      ]);
      return { cert, key };
    },
    selfSigned(name, san) {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      openssl([
        'req',
        '-x509',
        ...ecKey,
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=${san}`,
      ]);
      return { cert, key };
    },
  };
}

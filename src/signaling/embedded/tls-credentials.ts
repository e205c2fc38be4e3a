// The certificates of SIP over TLS (RFC 3261 §26.2, RFC 5246/8446): our certificate and key,
// the CAs we trust, read from files at start and again on reload (SIGHUP), so a renewed
// certificate is served to new handshakes without a restart (live connections keep theirs).
// The key is read into memory and handed to OpenSSL; it is never logged, only the certificate's
// subject, validity and fingerprint are.
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { TlsCertificateInfo } from '../signaling-backend.js';

export interface TlsFiles {
  /** PEM certificate (chain: ours first). */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  /** PEM CA bundle trusted in addition to the system CAs (peers' servers and clients). */
  readonly ca?: string | undefined;
  /** Refuse clients without a certificate the CAs vouch for (mutual TLS). */
  readonly requireClientCert?: boolean | undefined;
}

/** What the log says about a certificate (never the key). */
export type CertificateSummary = TlsCertificateInfo;

// Node's default cipher list (TLS 1.3 suites, then ECDHE + AES-GCM/ChaCha20 for 1.2) is kept;
// only versions below TLS 1.2 are refused (RFC 8996 deprecates 1.0 and 1.1).
const MIN_VERSION = 'TLSv1.2';

export class TlsCredentials {
  readonly #files: TlsFiles;
  /** `ca`: the configured CA file, if any; `trusted`: the system roots plus it (servers we reach). */
  #material!: { cert: Buffer; key: Buffer; ca: Buffer | undefined; trusted: (string | Buffer)[] };
  #summary!: CertificateSummary;

  /** Reads the files; throws (with the file's path, never its content) when one is unreadable. */
  constructor(files: TlsFiles) {
    this.#files = files;
    this.reload();
  }

  get summary(): CertificateSummary {
    return this.#summary;
  }

  get requireClientCert(): boolean {
    return this.#files.requireClientCert === true;
  }

  /**
   * Reads the files again and builds the new context; on any failure the old one stays and the
   * error says which file (an operator's half-copied renewal must not take TLS down).
   */
  reload(): CertificateSummary {
    const cert = readPem(this.#files.cert, 'certificate');
    const key = readPem(this.#files.key, 'private key');
    const ca = this.#files.ca === undefined ? undefined : readPem(this.#files.ca, 'CA');
    // Node's `ca` replaces the system store: the system roots are added back explicitly.
    const trusted: (string | Buffer)[] = ca === undefined ? [...rootCertificates] : [...rootCertificates, ca];
    let x509: X509Certificate;
    try {
      // Built only to check the pair now (a key that does not match, a bad PEM) and keep the old one.
      createSecureContext({ cert, key, ca: trusted, minVersion: MIN_VERSION });
      x509 = new X509Certificate(cert);
    } catch (err) {
      // OpenSSL's message names the problem (key mismatch, bad PEM), never the key bytes.
      throw new Error(
        `TLS certificate ${this.#files.cert} / key ${this.#files.key}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    this.#material = { cert, key, ca, trusted };
    this.#summary = {
      subject: x509.subject.replaceAll('\n', ', '),
      subjectAltName: x509.subjectAltName ?? '',
      validTo: x509.validTo,
      fingerprint256: x509.fingerprint256,
    };
    return this.#summary;
  }

  /**
   * What a listener serves (tls.createServer, and tls.Server.setSecureContext on reload). Client
   * certificates (requireClientCert) must chain to `ca` alone when one is configured: the system
   * roots would let in anyone with a public certificate. Without `ca`, to the system roots.
   */
  serverOptions(): TlsOptions {
    const { cert, key, ca } = this.#material;
    return {
      cert,
      key,
      ca: ca === undefined ? [...rootCertificates] : [ca],
      minVersion: MIN_VERSION,
      requestCert: this.requireClientCert,
      // tls-listener.ts refuses an unverified client itself, once the handshake is over.
      rejectUnauthorized: false,
    };
  }

  /**
   * A connection we open (REGISTER, a call or a transfer, in-dialog requests): the server's
   * certificate must chain to the system CAs or `ca` and name `servername` (RFC 5922 §7.2;
   * Node's checkServerIdentity: subjectAltName DNS, or IP for an IP literal). Our certificate
   * goes along as the client certificate, for peers that ask (mutual TLS trunks).
   */
  clientOptions(host: string, servername: string | undefined): ConnectionOptions {
    const { cert, key, trusted } = this.#material;
    return {
      host,
      cert,
      key,
      ca: trusted,
      minVersion: MIN_VERSION,
      rejectUnauthorized: true,
      // SNI must not be an IP literal (RFC 6066 §3); Node then checks the IP against the SAN.
      ...(servername !== undefined && { servername }),
    };
  }
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`TLS ${what} file ${file}: ${code}`, { cause: err });
  }
}

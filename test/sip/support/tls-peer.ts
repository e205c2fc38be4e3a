// A hand-written SIP peer over one TLS connection (node:tls): writes whole messages, cuts what
// arrives into messages with the stack's own framer, waits for the ones a test asks for.
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { SipStreamFramer } from '../../../src/signaling/embedded/tcp-framing.js';
import type { Tap } from './sip-endpoint.js';

export interface TlsPeer {
  readonly socket: TLSSocket;
  readonly received: string[];
  readonly localPort: number;
  /** The certificate the server showed in this connection's handshake. */
  readonly serverCertificate: PeerCertificate;
  readonly closed: () => boolean;
  send(text: string): void;
  waitFor(pred: (m: string) => boolean, timeoutMs?: number): Promise<string | undefined>;
}

export interface TlsPeerOptions {
  readonly port: number;
  /** CA that must have signed the server's certificate. */
  readonly ca: Buffer;
  /** Our client certificate and key (PEM), for listeners with requireClientCert. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export async function openTlsPeer(t: Tap, opts: TlsPeerOptions): Promise<TlsPeer> {
  const socket = connect({
    host: '127.0.0.1',
    port: opts.port,
    ca: opts.ca,
    ...(opts.cert !== undefined && { cert: opts.cert, key: opts.key }),
  });
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const received: string[] = [];
  const framer = new SipStreamFramer();
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    for (const item of framer.push(chunk)) if (item.kind === 'message') received.push(item.text);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  return {
    socket,
    received,
    localPort: socket.localPort ?? 0,
    serverCertificate: socket.getPeerCertificate(),
    closed: () => closed,
    send: (text) => void socket.write(text),
    async waitFor(pred, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hit = received.find(pred);
        if (hit !== undefined || Date.now() > until) return hit;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

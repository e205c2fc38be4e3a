// Hand-written SIP over a raw UDP socket or TCP connection, for the transport-level tests.
import { createSocket, type Socket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import type { Tap } from './sip-endpoint.js';

export interface RawRequest {
  method: string;
  uri: string;
  branch: string;
  callId: string;
  cseq: number;
  fromTag?: string;
  toTag?: string;
  /** Via sent-by (default the socket's own address). */
  sentBy?: string;
  /** Our host in Via, From and Contact (default 127.0.0.1; brackets for IPv6: '[::1]'). */
  host?: string;
  rport?: boolean;
  transport?: 'UDP' | 'TCP' | 'TLS';
  body?: string;
  extra?: string[];
}

export function request(r: RawRequest, localPort: number): string {
  const body = r.body ?? '';
  const host = r.host ?? '127.0.0.1';
  return [
    `${r.method} ${r.uri} SIP/2.0`,
    `Via: SIP/2.0/${r.transport ?? 'UDP'} ${r.sentBy ?? `${host}:${localPort}`};branch=${r.branch}${r.rport ? ';rport' : ''}`,
    `From: <sip:raw@${host}:${localPort}>;tag=${r.fromTag ?? 'rawtag'}`,
    `To: <${r.uri}>${r.toTag ? `;tag=${r.toTag}` : ''}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.method}`,
    `Contact: <sip:raw@${host}:${localPort}>`,
    'Max-Forwards: 70',
    ...(r.extra ?? []),
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export const offer = (codecs: 'g711' | 'g729', port = 6000): string =>
  [
    'v=0',
    'o=raw 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    codecs === 'g711' ? `m=audio ${port} RTP/AVP 0` : `m=audio ${port} RTP/AVP 18`,
    codecs === 'g711' ? 'a=rtpmap:0 PCMU/8000' : 'a=rtpmap:18 G729/8000',
    '',
  ].join('\r\n');

/** A PCMU-only offer or answer with a direction and o= version (hold, resume, re-INVITE tests). */
export const audioSdp = (rtpPort: number, direction = 'sendrecv', version = 1): string =>
  [
    'v=0',
    `o=peer 1 ${version} IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${rtpPort} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');

/** A response to a request: its Via, From, Call-ID and CSeq copied, To tagged (RFC 3261 §8.2.6.2). */
export function responseTo(req: string, status: string, extra: string[] = [], body = ''): string {
  const to = header(req, 'To') ?? '';
  const copy = ['Via', 'From', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(req, h) ?? ''}`);
  return [
    `SIP/2.0 ${status}`,
    ...copy,
    `To: ${/;tag=/.test(to) ? to : `${to};tag=callee`}`,
    ...extra,
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export function statusOf(message: string): number {
  return Number(/^SIP\/2\.0 (\d{3})/.exec(message)?.[1] ?? 0);
}

export function header(message: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(message);
  return m?.[1]?.trim();
}

/** A UDP peer that records everything it receives. */
export class UdpPeer {
  readonly socket: Socket;
  readonly received: string[] = [];
  /** Source port of each received datagram, in the order of `received`. */
  readonly sourcePorts: number[] = [];
  port = 0;

  private constructor(readonly address: '127.0.0.1' | '::1') {
    this.socket = createSocket(address === '::1' ? 'udp6' : 'udp4');
  }

  static async open(t: Tap, address: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<UdpPeer> {
    const peer = new UdpPeer(address);
    await new Promise<void>((resolve) => peer.socket.bind(0, address, resolve));
    peer.port = peer.socket.address().port;
    peer.socket.on('message', (b, rinfo) => {
      peer.received.push(b.toString());
      peer.sourcePorts.push(rinfo.port);
    });
    t.teardown(() => peer.socket.close());
    return peer;
  }

  send(text: string | Buffer, port: number): void {
    this.socket.send(text, port, this.address);
  }

  async waitFor(pred: (m: string) => boolean, count = 1, timeoutMs = 5000): Promise<string[]> {
    const start = Date.now();
    for (;;) {
      const hits = this.received.filter(pred);
      if (hits.length >= count || Date.now() - start > timeoutMs) return hits;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function tcpConnect(t: Tap, port: number): Promise<{ socket: TcpSocket; data: () => string }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString()));
  t.teardown(() => socket.destroy());
  return { socket, data: () => data };
}

export async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond() && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 20));
}

// A hand-written SIP caller over UDP for the drachtio backend tests: it sends the requests of one
// call (with any Content-Type) and answers drachtio-server's in-dialog requests.
import { header, statusOf, UdpPeer } from '../../sip/support/raw-sip.js';
import type { Tap } from './drachtio-server.js';

export { audioSdp as sdp } from '../../sip/support/raw-sip.js';

export class SipCaller {
  readonly peer: UdpPeer;
  readonly callId: string;
  readonly #server: number;
  readonly #uri: string;
  #cseq = 0;
  #branch = 0;
  toTag: string | undefined;

  private constructor(peer: UdpPeer, callId: string, serverPort: number, user: string) {
    this.peer = peer;
    this.callId = callId;
    this.#server = serverPort;
    this.#uri = `sip:${user}@127.0.0.1:${serverPort}`;
  }

  static async open(t: Tap, callId: string, serverPort: number, user = 'bot'): Promise<SipCaller> {
    return new SipCaller(await UdpPeer.open(t), callId, serverPort, user);
  }

  /** Sends a request; returns its CSeq number and branch. */
  send(
    method: string,
    opts: { body?: string; contentType?: string; extra?: string[]; cseq?: number; branch?: string } = {},
  ): { cseq: number; branch: string } {
    const cseq = opts.cseq ?? ++this.#cseq;
    const branch = opts.branch ?? `z9hG4bK${this.callId}-${++this.#branch}`;
    const body = opts.body ?? '';
    const port = this.peer.port;
    this.peer.send(
      [
        `${method} ${this.#uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
        `From: <sip:peer@127.0.0.1:${port}>;tag=peertag`,
        `To: <${this.#uri}>${this.toTag ? `;tag=${this.toTag}` : ''}`,
        `Call-ID: ${this.callId}`,
        `CSeq: ${cseq} ${method}`,
        `Contact: <sip:peer@127.0.0.1:${port}>`,
        'Max-Forwards: 70',
        ...(opts.extra ?? []),
        ...(body ? [`Content-Type: ${opts.contentType ?? 'application/sdp'}`] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
      this.#server,
    );
    return { cseq, branch };
  }

  /** The first response with `status` to CSeq `cseq` (undefined after the wait). */
  async response(status: number, cseq: number, method = 'INVITE'): Promise<string | undefined> {
    const re = new RegExp(`^CSeq:\\s*${cseq} ${method}`, 'im');
    const [hit] = await this.peer.waitFor((m) => statusOf(m) === status && re.test(m));
    if (hit !== undefined && method === 'INVITE' && status >= 200 && status < 300) {
      this.toTag ??= /;tag=([^;\s]+)/.exec(header(hit, 'To') ?? '')?.[1];
    }
    return hit;
  }

  /** The first request of `method` drachtio-server sent us. */
  async request(method: string): Promise<string | undefined> {
    const [hit] = await this.peer.waitFor((m) => m.startsWith(`${method} `));
    return hit;
  }

  /** Answers a request drachtio-server sent us. */
  respond(req: string, status: number, reason: string, extra: string[] = []): void {
    const lines = req.split('\r\n');
    const copied = lines.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    this.peer.send(
      [`SIP/2.0 ${status} ${reason}`, ...copied, ...extra, 'Content-Length: 0', '', ''].join('\r\n'),
      this.#server,
    );
  }
}

// A Vonage stand-in written from Vonage's Voice API docs: the answer webhook (GET with to, from,
// uuid, conversation_uuid) and event webhook (POST JSON), each signed as "Signed webhooks" says
// (Authorization: Bearer JWT, HS256 with the signature secret, claims iat/jti/iss/payload_hash =
// SHA-256 hex of the body); the NCCO it gets back (connect → endpoint type websocket, uri,
// content-type audio/l16;rate=16000, headers); then the WebSocket: first a text
// `websocket:connected` carrying the content-type and the headers, then binary 20 ms frames of
// 16-bit linear PCM (640 bytes) every 20 ms, `websocket:dtmf` events; from the server binary
// frames (played at real time), `{"action":"clear"}` (answered `websocket:cleared`) and
// `{"action":"notify","payload":…}` (answered `websocket:notify` once the audio before it played).
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { WebSocket } from 'ws';

export function signVonage(secret: string, body: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const claims = Buffer.from(
    JSON.stringify({
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      iss: 'Vonage',
      api_key: 'abcd1234',
      application_id: randomUUID(),
      payload_hash: createHash('sha256').update(body).digest('hex'),
    }),
  ).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${signature}`;
}

export function webhook(
  method: 'GET' | 'POST',
  url: string,
  body: string,
  jwt: string | undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: {
          ...(body !== '' && {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          }),
          ...(jwt !== undefined && { authorization: `Bearer ${jwt}` }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === '' ? undefined : body);
  });
}

export interface WebsocketEndpoint {
  readonly type: string;
  readonly uri: string;
  readonly 'content-type': string;
  readonly headers: Record<string, string>;
}

export function websocketEndpoint(nccoText: string): WebsocketEndpoint {
  const ncco = JSON.parse(nccoText) as { action: string; endpoint?: WebsocketEndpoint[] }[];
  const endpoint = ncco.find((a) => a.action === 'connect')?.endpoint?.[0];
  if (endpoint?.type !== 'websocket') throw new Error(`no connect to a websocket in ${nccoText}`);
  return endpoint;
}

export class VonageStreamClient {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly played: Buffer[] = [];
  readonly received: { atMs: number; binary: boolean; text?: string }[] = [];
  readonly notifiesReturned: unknown[] = [];
  readonly clears: { atMs: number; playedFrames: number }[] = [];
  #queue: ({ kind: 'audio'; frame: Buffer } | { kind: 'notify'; payload: unknown })[] = [];
  readonly #playTimer: NodeJS.Timeout;
  /** 20 ms at the NCCO's rate: 640 bytes at 16 kHz, 320 at 8 kHz. */
  readonly frameBytes: number;

  constructor(readonly endpoint: WebsocketEndpoint) {
    this.frameBytes = (Number(/rate=(\d+)/.exec(endpoint['content-type'])?.[1] ?? 16000) / 50) * 2;
    this.ws = new WebSocket(endpoint.uri);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    this.#playTimer = setInterval(() => this.#playOne(), 20);
    void this.closed.then(() => clearInterval(this.#playTimer));
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.received.push({ atMs: Date.now(), binary: true });
      this.#queue.push({ kind: 'audio', frame: Buffer.from(data) });
      return;
    }
    const text = data.toString();
    this.received.push({ atMs: Date.now(), binary: false, text });
    const message = JSON.parse(text) as { action?: string; payload?: unknown };
    if (message.action === 'clear') {
      this.clears.push({ atMs: Date.now(), playedFrames: this.played.length });
      this.#queue = [];
      this.ws.send(JSON.stringify({ event: 'websocket:cleared' }));
    } else if (message.action === 'notify') {
      this.#queue.push({ kind: 'notify', payload: message.payload });
    }
  }

  #playOne(): void {
    this.#returnReachedNotifies();
    const next = this.#queue.shift();
    if (next?.kind === 'audio') this.played.push(next.frame);
    this.#returnReachedNotifies();
  }

  #returnReachedNotifies(): void {
    for (let head = this.#queue[0]; head?.kind === 'notify'; head = this.#queue[0]) {
      this.#queue.shift();
      this.notifiesReturned.push(head.payload);
      this.send({ event: 'websocket:notify', payload: head.payload });
    }
  }

  send(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** The first message: the audio format and the NCCO's headers, at the top level. */
  connected(): void {
    this.send({
      event: 'websocket:connected',
      'content-type': this.endpoint['content-type'],
      ...this.endpoint.headers,
    });
  }

  /** PCM16 at the stream's rate, one 20 ms binary message per 20 ms on a real-time clock. */
  async speak(pcm: Buffer): Promise<void> {
    const started = performance.now();
    const size = this.frameBytes;
    for (let at = 0, n = 0; at < pcm.length; at += size, n++) {
      const frame = Buffer.alloc(size);
      pcm.copy(frame, 0, at, Math.min(at + size, pcm.length));
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(frame, { binary: true });
      const wait = started + (n + 1) * 20 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  silence(ms: number): Promise<void> {
    return this.speak(Buffer.alloc((ms / 20) * this.frameBytes));
  }

  dtmf(digit: string): void {
    this.send({ event: 'websocket:dtmf', digit, duration: 260 });
  }

  /** The caller hung up: Vonage closes the socket. */
  hangup(): void {
    this.ws.close(1000);
  }
}

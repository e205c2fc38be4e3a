// A Twilio stand-in written from Twilio's documentation, message by message: the voice webhook
// POST (form parameters, X-Twilio-Signature = base64 HMAC-SHA1 of URL + sorted params, keyed with
// the auth token), the TwiML it gets back (<Connect><Stream url><Parameter/>), then the Media
// Streams socket: `connected`, `start`, `media` every 20 ms (chunk, timestamp, base64 μ-law),
// `dtmf`, `stop`; from the server `media`, `mark` (returned once the audio before it has played)
// and `clear` (empties the playback buffer). Playback runs at real time on a 20 ms timer, like a
// phone line.
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { WebSocket } from 'ws';

export function signTwilio(authToken: string, url: string, params: Record<string, string>): string {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', authToken).update(data).digest('base64');
}

export interface VoiceWebhookResult {
  readonly status: number;
  readonly body: string;
}

export function postVoiceWebhook(
  url: string,
  params: Record<string, string>,
  signature: string | undefined,
): Promise<VoiceWebhookResult> {
  // node:http with a fresh connection per webhook (as Twilio's own requests come), not fetch's
  // keep-alive pool: a pooled socket to a listener a previous test closed fails the next request.
  const body = new URLSearchParams(params).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...(signature !== undefined && { 'x-twilio-signature': signature }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function parseConnectStream(twiml: string): { url: string; parameters: Record<string, string> } {
  const url = /<Stream url="([^"]+)"/.exec(twiml)?.[1];
  if (url === undefined) throw new Error(`no <Connect><Stream> in ${twiml}`);
  const parameters: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)) parameters[m[1]!] = m[2]!;
  return { url: url.replace(/&#38;/g, '&'), parameters };
}

export interface TwilioCallOptions {
  readonly streamUrl: string;
  readonly callSid: string;
  readonly parameters: Record<string, string>;
}

/** One call's Media Stream, as Twilio runs it. */
export class TwilioStreamClient {
  readonly streamSid = `MZ${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Agent frames played to the "caller", in order. */
  readonly played: Buffer[] = [];
  /** Every message from the server, with its arrival time (Date.now()). */
  readonly received: { atMs: number; message: { event: string; [k: string]: unknown } }[] = [];
  /** Marks returned to the server (played), in order. */
  readonly marksReturned: string[] = [];
  /** Frames played when each clear arrived. */
  readonly clears: { atMs: number; playedFrames: number }[] = [];
  #queue: ({ kind: 'media'; payload: Buffer } | { kind: 'mark'; name: string })[] = [];
  #sequence = 1;
  #chunk = 1;
  #timestampMs = 0;
  #playTimer: NodeJS.Timeout;

  constructor(readonly options: TwilioCallOptions) {
    this.ws = new WebSocket(options.streamUrl);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('message', (data) => this.#onMessage(String(data)));
    this.#playTimer = setInterval(() => this.#playOne(), 20);
    void this.closed.then(() => clearInterval(this.#playTimer));
  }

  #onMessage(text: string): void {
    const message = JSON.parse(text) as {
      event: string;
      media?: { payload: string };
      mark?: { name: string };
    };
    this.received.push({ atMs: Date.now(), message });
    if (message.event === 'media')
      this.#queue.push({ kind: 'media', payload: Buffer.from(message.media!.payload, 'base64') });
    else if (message.event === 'mark') this.#queue.push({ kind: 'mark', name: message.mark!.name });
    else if (message.event === 'clear') {
      this.clears.push({ atMs: Date.now(), playedFrames: this.played.length });
      this.#queue = [];
    }
  }

  /** One 20 ms of playback: the next frame; marks reached on the way are returned. */
  #playOne(): void {
    this.#returnReachedMarks();
    const next = this.#queue.shift();
    if (next?.kind === 'media') this.played.push(next.payload);
    this.#returnReachedMarks();
  }

  #returnReachedMarks(): void {
    for (let head = this.#queue[0]; head?.kind === 'mark'; head = this.#queue[0]) {
      this.#queue.shift();
      this.#returnMark(head.name);
    }
  }

  #returnMark(name: string): void {
    this.marksReturned.push(name);
    this.send({
      event: 'mark',
      sequenceNumber: String(this.#sequence++),
      streamSid: this.streamSid,
      mark: { name },
    });
  }

  send(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  start(): void {
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.send({
      event: 'start',
      sequenceNumber: String(this.#sequence++),
      start: {
        accountSid: 'AC00000000000000000000000000000000',
        streamSid: this.streamSid,
        callSid: this.options.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: this.options.parameters,
      },
      streamSid: this.streamSid,
    });
  }

  /** μ-law audio, 20 ms a message on a real-time clock (Twilio streams the line continuously). */
  async speak(ulaw: Buffer): Promise<void> {
    const started = performance.now();
    for (let at = 0, n = 0; at < ulaw.length; at += 160, n++) {
      const frame = Buffer.alloc(160, 0xff);
      ulaw.copy(frame, 0, at, Math.min(at + 160, ulaw.length));
      this.send({
        event: 'media',
        sequenceNumber: String(this.#sequence++),
        media: {
          track: 'inbound',
          chunk: String(this.#chunk++),
          timestamp: String(this.#timestampMs),
          payload: frame.toString('base64'),
        },
        streamSid: this.streamSid,
      });
      this.#timestampMs += 20;
      const wait = started + (n + 1) * 20 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.ws.readyState !== WebSocket.OPEN) return;
    }
  }

  /** Line silence (μ-law 0xFF) for `ms`. */
  silence(ms: number): Promise<void> {
    return this.speak(Buffer.alloc((ms / 20) * 160, 0xff));
  }

  dtmf(digit: string): void {
    this.send({
      event: 'dtmf',
      streamSid: this.streamSid,
      sequenceNumber: String(this.#sequence++),
      dtmf: { track: 'inbound_track', digit },
    });
  }

  stop(): void {
    this.send({
      event: 'stop',
      sequenceNumber: String(this.#sequence++),
      streamSid: this.streamSid,
      stop: { accountSid: 'AC00000000000000000000000000000000', callSid: this.options.callSid },
    });
    // Twilio closes the socket after stop.
    setTimeout(() => this.ws.close(1000), 50).unref();
  }
}

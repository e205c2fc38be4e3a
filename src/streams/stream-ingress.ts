// The carrier ingresses on grok-sip's HTTP listener: Twilio's voice webhook and Media Streams
// socket, Vonage's answer and event webhooks and WebSocket. Webhooks are checked (Twilio
// signature, Vonage signed JWT: a wrong or missing one gets 403, logged once per kind) and
// answered with the TwiML / NCCO that points the call's audio at our stream path, carrying the
// agent profile chosen from the called number and a per-call token. A stream that starts
// properly becomes a call (onStream); everything about a stream stays inside it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { LogOnce, type Logger } from '../observability/logger.js';
import type { MediaStreamCall } from './media-stream-call.js';
import { connectStreamTwiml, rejectTwiml } from './twilio/twiml.js';
import { streamToken, validTwilioSignature } from './twilio/twilio-signature.js';
import { TwilioStream } from './twilio/twilio-stream.js';
import { callToken, vonageWebhookProblem } from './vonage/vonage-signature.js';
import { VonageStream } from './vonage/vonage-stream.js';

export interface TwilioIngressSettings {
  /** https://voice.example.com: the base Twilio reaches us by (signatures are over it). */
  readonly publicUrl: string;
  readonly voicePath: string;
  readonly streamPath: string;
  readonly authToken: string;
  readonly accountSid?: string;
  readonly apiBaseUrl: string;
  readonly validateSignature: boolean;
}

export interface VonageIngressSettings {
  readonly publicUrl: string;
  readonly answerPath: string;
  readonly eventsPath: string;
  readonly streamPath: string;
  readonly sampleRate: 8000 | 16000;
  readonly signatureSecret?: string;
  readonly validateSignature: boolean;
  /** For transfers: the Voice application's id and private key (PEM). */
  readonly applicationId?: string;
  readonly privateKey?: string;
  readonly apiBaseUrl: string;
}

export interface StreamIngressOptions {
  readonly twilio?: TwilioIngressSettings;
  readonly vonage?: VonageIngressSettings;
  /** The agent profile for a called number, or null when none answers it. */
  readonly routeAgent: (dialled: string) => string | null;
  /** false while draining or at capacity: the webhook turns the call away. */
  readonly admit: () => boolean;
  readonly onStream: (stream: MediaStreamCall) => void;
  readonly log: Logger;
}

/** Webhook bodies are a few hundred bytes of form or JSON. */
const maxBodyBytes = 64 * 1024;
/** A Media Streams message is ~250 bytes, a Vonage frame 640. */
const maxMessageBytes = 64 * 1024;

class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class StreamIngress {
  readonly #o: StreamIngressOptions;
  readonly #log: Logger;
  readonly #once = new LogOnce();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  readonly #sockets = new Set<WebSocket>();

  constructor(options: StreamIngressOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'streams' });
  }

  /** True when the request was for one of our paths (and is answered here). */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    const { twilio, vonage } = this.#o;
    let answer: ((body: Buffer) => { type: string; body: string; status?: number }) | undefined;
    if (twilio !== undefined && path === twilio.voicePath)
      answer = (body) => this.#twilioVoice(twilio, req, body);
    else if (vonage !== undefined && path === vonage.answerPath)
      answer = (body) => this.#vonageAnswer(vonage, req, body);
    else if (vonage !== undefined && path === vonage.eventsPath)
      answer = (body) => this.#vonageEvent(vonage, req, body);
    if (answer === undefined) return false;
    const run = answer;
    readBody(req).then(
      (body) => {
        try {
          const out = run(body);
          res.writeHead(out.status ?? 200, { 'content-type': out.type }).end(out.body);
        } catch (err) {
          this.#refuse(res, req, err);
        }
      },
      (err: unknown) => this.#refuse(res, req, err),
    );
    return true;
  }

  /** True when the upgrade was for one of our stream paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (req.url ?? '/').split('?')[0];
    const { twilio, vonage } = this.#o;
    const source = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    let open: ((ws: WebSocket) => MediaStreamCall & { started: Promise<boolean> }) | undefined;
    if (twilio !== undefined && path === twilio.streamPath) {
      open = (ws) =>
        new TwilioStream(ws, source, {
          authToken: twilio.authToken,
          requireToken: twilio.validateSignature,
          ...(twilio.accountSid !== undefined && {
            rest: {
              accountSid: twilio.accountSid,
              authToken: twilio.authToken,
              apiBaseUrl: twilio.apiBaseUrl,
            },
          }),
          log: this.#log,
        });
    } else if (vonage !== undefined && path === vonage.streamPath) {
      open = (ws) =>
        new VonageStream(ws, source, {
          signatureSecret: vonage.signatureSecret,
          requireToken: vonage.validateSignature,
          ...(vonage.applicationId !== undefined &&
            vonage.privateKey !== undefined && {
              rest: {
                applicationId: vonage.applicationId,
                privateKey: vonage.privateKey,
                apiBaseUrl: vonage.apiBaseUrl,
              },
            }),
          log: this.#log,
        });
    }
    if (open === undefined) return false;
    const start = open;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#sockets.add(ws);
      ws.once('close', () => this.#sockets.delete(ws));
      const stream = start(ws);
      void stream.started.then((ok) => {
        if (ok) this.#o.onStream(stream);
      });
    });
    return true;
  }

  /** Closes every stream socket still open (after the calls were drained). */
  close(): void {
    for (const ws of this.#sockets) ws.terminate();
    this.#wss.close();
  }

  #refuse(res: ServerResponse, req: IncomingMessage, err: unknown): void {
    const status = err instanceof RequestRefused ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    const path = (req.url ?? '/').split('?')[0] ?? '';
    if (this.#once.first(`${status} ${path} ${message}`)) {
      const source = req.socket.remoteAddress;
      if (status === 500) this.#log.error({ path, source, err: message }, 'webhook failed');
      else this.#log.warn({ path, source, status, reason: message }, `webhook refused: ${message}`);
    }
    if (!res.headersSent) {
      res.writeHead(status, { 'content-type': 'text/plain', ...(status === 413 && { connection: 'close' }) });
    }
    res.end(status === 403 ? 'forbidden\n' : status === 413 ? 'too large\n' : 'refused\n', () => {
      if (status === 413) req.socket.destroy();
    });
  }

  // --- Twilio ---

  #twilioVoice(s: TwilioIngressSettings, req: IncomingMessage, body: Buffer): { type: string; body: string } {
    const params = req.method === 'POST' ? new URLSearchParams(body.toString('utf8')) : new URLSearchParams();
    const url = joinUrl(s.publicUrl, req.url ?? '/');
    if (s.validateSignature) {
      const header = req.headers['x-twilio-signature'];
      if (!validTwilioSignature(s.authToken, url, params, typeof header === 'string' ? header : undefined)) {
        throw new RequestRefused(403, 'X-Twilio-Signature missing or wrong');
      }
    }
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const value = (name: string): string => params.get(name) ?? query.get(name) ?? '';
    const callSid = value('CallSid');
    const to = value('To');
    const agent = this.#o.routeAgent(to);
    if (callSid === '' || agent === null || !this.#o.admit()) {
      this.#log.info({ callSid, to, agent }, 'twilio call turned away');
      return { type: 'text/xml', body: rejectTwiml() };
    }
    const twiml = connectStreamTwiml(joinUrl(s.publicUrl.replace(/^http/i, 'ws'), s.streamPath), {
      agent,
      from: value('From'),
      to,
      token: streamToken(s.authToken, callSid),
    });
    return { type: 'text/xml', body: twiml };
  }

  // --- Vonage ---

  #checkVonage(s: VonageIngressSettings, req: IncomingMessage, body: Buffer): void {
    if (!s.validateSignature) return;
    if (s.signatureSecret === undefined)
      throw new RequestRefused(403, 'no Vonage signature secret configured');
    const problem = vonageWebhookProblem(s.signatureSecret, req.headers.authorization, body);
    if (problem !== null) throw new RequestRefused(403, `Vonage signature: ${problem}`);
  }

  #vonageAnswer(
    s: VonageIngressSettings,
    req: IncomingMessage,
    body: Buffer,
  ): { type: string; body: string } {
    this.#checkVonage(s, req, body);
    const fields = webhookFields(req, body);
    const uuid = fields.uuid ?? '';
    const to = fields.to ?? '';
    const from = fields.from ?? '';
    const agent = this.#o.routeAgent(to);
    if (uuid === '' || agent === null || !this.#o.admit()) {
      this.#log.info({ uuid, to, agent }, 'vonage call turned away');
      const ncco = [{ action: 'talk', text: 'Sorry, nobody can take your call right now.' }];
      return { type: 'application/json', body: JSON.stringify(ncco) };
    }
    const ncco = [
      {
        action: 'connect',
        endpoint: [
          {
            type: 'websocket',
            uri: joinUrl(s.publicUrl.replace(/^http/i, 'ws'), s.streamPath),
            'content-type': `audio/l16;rate=${s.sampleRate}`,
            headers: {
              agent,
              from,
              to,
              uuid,
              ...(s.signatureSecret !== undefined && { token: callToken(s.signatureSecret, uuid) }),
            },
          },
        ],
      },
    ];
    return { type: 'application/json', body: JSON.stringify(ncco) };
  }

  #vonageEvent(
    s: VonageIngressSettings,
    req: IncomingMessage,
    body: Buffer,
  ): { type: string; body: string; status: number } {
    this.#checkVonage(s, req, body);
    const fields = webhookFields(req, body);
    this.#log.debug({ uuid: fields.uuid, status: fields.status }, 'vonage call event');
    return { type: 'text/plain', body: '', status: 204 };
  }
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/** Vonage sends answer webhooks as GET query parameters (default) or a POST JSON body. */
function webhookFields(req: IncomingMessage, body: Buffer): Record<string, string | undefined> {
  const fields: Record<string, string | undefined> = {};
  for (const [k, v] of new URL(req.url ?? '/', 'http://x').searchParams) fields[k] = v;
  if (body.length > 0) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RequestRefused(400, 'webhook body is not JSON');
    }
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') fields[k] = v;
    }
  }
  return fields;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        // Stop reading; the 413 goes out and the connection is closed after it (#refuse).
        req.pause();
        req.removeAllListeners('data');
        reject(new RequestRefused(413, 'webhook body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

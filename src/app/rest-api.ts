// The REST API (issue 18) on the HTTP listener, enabled by GROK_SIP_API_TOKEN: place calls through
// a trunk, list and read calls (inbound ones too), hang up, transfer. Every /v1 request but the
// OpenAPI document needs `Authorization: Bearer <token>`, compared in constant time. Errors are
// RFC 9457 problem details (application/problem+json) naming the request field at fault. The
// routes are API_ROUTES; /v1/openapi.json describes the same ones (openapi.ts, checked by a test).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpIngress } from '../observability/http-endpoints.js';
import type { Logger } from '../observability/logger.js';
import type { GrokSipApp } from './grok-sip-app.js';
import { openApiDocument } from './openapi.js';
import { parsePlaceCallRequest, PlaceCallError, type PlaceCallProblem } from './outbound-calls.js';

/** Method and path template of every route served (the OpenAPI document lists exactly these). */
export const API_ROUTES = [
  { method: 'GET', path: '/v1/openapi.json' },
  { method: 'POST', path: '/v1/calls' },
  { method: 'GET', path: '/v1/calls' },
  { method: 'GET', path: '/v1/calls/{id}' },
  { method: 'DELETE', path: '/v1/calls/{id}' },
  { method: 'POST', path: '/v1/calls/{id}/transfer' },
] as const;

/** Request bodies are small JSON objects; more is refused unread. */
const MAX_BODY_BYTES = 64 * 1024;

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** Short machine-readable kind, the last segment of `type`. */
  readonly code: string;
  /** The request field at fault (JSON path like `variables.name`), when one is. */
  readonly field?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const problemStatus: Record<PlaceCallProblem, number> = {
  'invalid-field': 422,
  'unknown-trunk': 422,
  'unknown-agent': 422,
  'trunk-busy': 429,
  'trunk-rate': 429,
  unsupported: 501,
  draining: 503,
};

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class RestApi implements HttpIngress {
  readonly #app: GrokSipApp;
  readonly #tokenHash: Buffer;
  readonly #log: Logger;

  constructor(app: GrokSipApp, token: string, log: Logger) {
    if (token.length < 16) throw new RangeError('GROK_SIP_API_TOKEN must be at least 16 characters');
    this.#app = app;
    // Hashing both sides gives equal-length buffers, so timingSafeEqual never leaks the length.
    this.#tokenHash = sha256(token);
    this.#log = log.child({ module: 'rest-api' });
  }

  handleUpgrade(_req: IncomingMessage, _socket: Duplex, _head: Buffer): boolean {
    return false;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path !== '/v1' && !path.startsWith('/v1/')) return false;
    const method = req.method ?? 'GET';
    if (path === '/v1/openapi.json') {
      if (method !== 'GET' && method !== 'HEAD') return (this.#methodNotAllowed(res, ['GET']), true);
      sendJson(res, 200, openApiDocument());
      return true;
    }
    if (!this.#authorized(req)) {
      sendProblem(res, {
        status: 401,
        title: 'Unauthorized',
        detail: 'a valid Authorization: Bearer token is needed',
        code: 'unauthorized',
        headers: { 'www-authenticate': 'Bearer realm="grok-sip"' },
      });
      return true;
    }
    this.#route(method, path, req, res).catch((err: unknown) => {
      this.#log.error(
        { err: err instanceof Error ? err.stack : String(err), method, path },
        'API request failed',
      );
      sendProblem(res, {
        status: 500,
        title: 'Internal error',
        detail: 'the request failed on our side',
        code: 'internal',
      });
    });
    return true;
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return false;
    return timingSafeEqual(sha256(match[1]!), this.#tokenHash);
  }

  async #route(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const calls = this.#app.calls;
    if (path === '/v1/calls') {
      if (method === 'GET') return sendJson(res, 200, { calls: calls.list() });
      if (method !== 'POST') return this.#methodNotAllowed(res, ['GET', 'POST']);
      const body = await readJson(req, res);
      if (body === undefined) return;
      try {
        const session = this.#app.placeCall(parsePlaceCallRequest(body));
        res.setHeader('location', `/v1/calls/${encodeURIComponent(session.callId)}`);
        return sendJson(res, 201, { id: session.callId, ...calls.get(session.callId) });
      } catch (err) {
        if (!(err instanceof PlaceCallError)) throw err;
        return sendProblem(res, {
          status: problemStatus[err.problem],
          title: 'The call cannot be placed',
          detail: err.message,
          code: err.problem,
          ...(err.field !== undefined && { field: err.field }),
          ...(problemStatus[err.problem] === 429 && { headers: { 'retry-after': '1' } }),
        });
      }
    }
    const one = /^\/v1\/calls\/([^/]+)(\/transfer)?$/.exec(path);
    if (one === null) {
      return sendProblem(res, {
        status: 404,
        title: 'Not found',
        detail: `no route ${path}`,
        code: 'not-found',
      });
    }
    let id: string;
    try {
      id = decodeURIComponent(one[1]!);
    } catch {
      return sendProblem(res, { status: 404, title: 'Not found', detail: 'bad call id', code: 'not-found' });
    }
    const noCall = (): void =>
      sendProblem(res, {
        status: 404,
        title: 'Not found',
        detail: `no call ${id}`,
        code: 'no-such-call',
        field: 'id',
      });
    if (one[2] === '/transfer') {
      if (method !== 'POST') return this.#methodNotAllowed(res, ['POST']);
      const body = await readJson(req, res);
      if (body === undefined) return;
      const target = (body as { target?: unknown } | null)?.target;
      if (typeof target !== 'string' || !/^(sips?|tel):[^\s<>"]+$/i.test(target)) {
        return sendProblem(res, {
          status: 422,
          title: 'Invalid request',
          detail: 'target must be a sip:, sips: or tel: URI',
          code: 'invalid-field',
          field: 'target',
        });
      }
      const outcome = calls.transfer(id, target);
      if (outcome === undefined) return calls.get(id) !== undefined ? this.#ended(res, id) : noCall();
      if (outcome === null) {
        return sendProblem(res, {
          status: 409,
          title: 'Not transferable',
          detail: 'this call cannot be transferred',
          code: 'not-transferable',
        });
      }
      try {
        return sendJson(res, 200, await outcome);
      } catch (err) {
        return sendProblem(res, {
          status: 409,
          title: 'Not transferable',
          detail: err instanceof Error ? err.message : String(err),
          code: 'not-transferable',
        });
      }
    }
    if (method === 'GET') {
      const info = calls.get(id);
      return info === undefined ? noCall() : sendJson(res, 200, info);
    }
    if (method === 'DELETE') {
      if (calls.hangup(id)) return sendJson(res, 202, calls.get(id) ?? { id });
      return calls.get(id) !== undefined ? this.#ended(res, id) : noCall();
    }
    return this.#methodNotAllowed(res, ['GET', 'DELETE']);
  }

  #ended(res: ServerResponse, id: string): void {
    sendProblem(res, { status: 409, title: 'Call over', detail: `call ${id} has ended`, code: 'call-ended' });
  }

  #methodNotAllowed(res: ServerResponse, allow: readonly string[]): void {
    sendProblem(res, {
      status: 405,
      title: 'Method not allowed',
      detail: `allowed: ${allow.join(', ')}`,
      code: 'method-not-allowed',
      headers: { allow: allow.join(', ') },
    });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function sendProblem(res: ServerResponse, p: Problem): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = {
    type: `https://github.com/grok-sip/grok-sip/blob/main/docs/rest-api.md#${p.code}`,
    title: p.title,
    status: p.status,
    detail: p.detail,
    code: p.code,
    ...(p.field !== undefined && { field: p.field, 'invalid-params': [{ name: p.field, reason: p.detail }] }),
  };
  res
    .writeHead(p.status, { 'content-type': 'application/problem+json', ...p.headers })
    .end(JSON.stringify(body));
}

/** The JSON body, or undefined after answering the problem (wrong type, too big, not JSON). */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    sendProblem(res, {
      status: 415,
      title: 'Unsupported media type',
      detail: 'send the body as application/json',
      code: 'unsupported-media-type',
    });
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      sendProblem(res, {
        status: 413,
        title: 'Body too large',
        detail: `at most ${MAX_BODY_BYTES} bytes`,
        code: 'body-too-large',
        headers: { connection: 'close' },
      });
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    sendProblem(res, {
      status: 400,
      title: 'Not JSON',
      detail: `the body is not JSON: ${(err as Error).message}`,
      code: 'invalid-json',
      field: '',
    });
    return undefined;
  }
}

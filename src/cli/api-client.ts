// The REST API (docs/rest-api.md) as `grok-sip dial` and `grok-sip calls` use it: a running
// instance's base URL (--api, GROK_SIP_API_URL, else the default http listener) and the token
// from GROK_SIP_API_TOKEN. A problem+json answer becomes an ApiError carrying its detail and field.
export const DEFAULT_API_URL = 'http://127.0.0.1:9090';

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field;
  }
}

export interface ApiCall {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly state: 'dialing' | 'ringing' | 'answered' | 'active' | 'ended';
  readonly from: string;
  readonly to: string;
  readonly agent?: string;
  readonly trunk?: string;
  readonly startedAt: string;
  readonly answeredAt?: string;
  readonly endedAt?: string;
  readonly cdr?: { readonly endReason: string; readonly sipStatus: number; readonly durationMs: number };
}

export class ApiClient {
  readonly #base: string;
  readonly #token: string;

  constructor(baseUrl: string, token: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#token = token;
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new ApiError(0, `cannot reach ${this.#base}: ${cause ?? (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not ours (a proxy's HTML page): reported by status below.
    }
    if (!res.ok) {
      const p = parsed as { detail?: string; title?: string; field?: string } | undefined;
      const detail = p?.detail ?? p?.title ?? `HTTP ${res.status}`;
      throw new ApiError(res.status, detail, p?.field);
    }
    return parsed;
  }

  place(request: Record<string, unknown>): Promise<ApiCall> {
    return this.#request('POST', '/v1/calls', request) as Promise<ApiCall>;
  }

  async list(): Promise<ApiCall[]> {
    return ((await this.#request('GET', '/v1/calls')) as { calls: ApiCall[] }).calls;
  }

  get(id: string): Promise<ApiCall> {
    return this.#request('GET', `/v1/calls/${encodeURIComponent(id)}`) as Promise<ApiCall>;
  }

  async hangup(id: string): Promise<void> {
    await this.#request('DELETE', `/v1/calls/${encodeURIComponent(id)}`);
  }
}

// A custom function answered over HTTP: POST {name, arguments, callId} as JSON to the profile's
// webhook, the JSON body (2xx) is the result. Every failure becomes an `{"error": …}` result for
// the model, never an exception: a slow or broken webhook must not break the call.
// Header values are never logged (they usually carry an API token).
import type { LogOnce, Logger } from '../../observability/logger.js';
import type { WebhookTarget } from '../agent-profile.js';

export type FetchFn = typeof fetch;

/** Bodies larger than this are refused (a tool result goes into the model's context). */
const maxResultBytes = 64 * 1024;

/** Failure kinds: each is logged once per call and function (a model retrying must not flood the log). */
export type WebhookFailure = 'timeout' | 'network' | 'http' | 'read' | 'too-large' | 'bad-json';

export interface WebhookDeps {
  readonly fetch: FetchFn;
  readonly log: Logger;
  /** The call's LogOnce; absent = log every failure. */
  readonly logOnce?: LogOnce;
}

export async function callWebhookFunction(
  name: string,
  args: unknown,
  callId: string,
  target: WebhookTarget,
  deps: WebhookDeps,
): Promise<string> {
  const fail = (kind: WebhookFailure, reason: string): string => {
    // Header values stay out of the line: only the tool, the URL without query and the reason.
    if (deps.logOnce?.first(`webhook ${name} ${kind}`) ?? true)
      deps.log.warn({ tool: name, url: redactUrl(target.url), kind, reason }, 'webhook function failed');
    return JSON.stringify({ error: `webhook ${name}: ${reason}` });
  };
  const signal = AbortSignal.timeout(target.timeoutMs);
  const timedOut = (): string => fail('timeout', `no answer within ${target.timeoutMs} ms`);
  let response: Response;
  try {
    response = await deps.fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...target.headers },
      body: JSON.stringify({ name, arguments: args, callId }),
      signal,
      // A redirect would carry the headers (tokens) to wherever it points: not followed.
      redirect: 'manual',
    });
  } catch (err) {
    const e = err as Error;
    if (signal.aborted) return timedOut();
    return fail('network', `request failed (${(e.cause as Error | undefined)?.message ?? e.message})`);
  }
  let text: string | null;
  try {
    text = await boundedText(response, maxResultBytes);
  } catch (err) {
    if (signal.aborted) return timedOut();
    return fail('read', `reading the response failed (${(err as Error).message})`);
  }
  if (response.status >= 300 && response.status < 400)
    return fail('http', `HTTP ${response.status} redirect (not followed)`);
  if (!response.ok) return fail('http', `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  if (text === null) return fail('too-large', `result larger than ${maxResultBytes} bytes`);
  if (text.trim() === '') return JSON.stringify({ ok: true });
  const type = response.headers.get('content-type') ?? '';
  if (/json/i.test(type)) {
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      return fail('bad-json', 'the response says JSON but does not parse');
    }
  }
  return JSON.stringify({ result: text });
}

/** The body as text, or null once it passes maxBytes (the rest is not read). */
async function boundedText(response: Response, maxBytes: number): Promise<string | null> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream: the rest is never read.
    if (size > maxBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The URL without credentials or query (tokens live there too). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad url)';
  }
}

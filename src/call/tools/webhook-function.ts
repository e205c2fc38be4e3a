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
  let response: Response;
  try {
    response = await deps.fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...target.headers },
      body: JSON.stringify({ name, arguments: args, callId }),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return fail('timeout', `no answer within ${target.timeoutMs} ms`);
    return fail('network', `request failed (${(e.cause as Error | undefined)?.message ?? e.message})`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    return fail('read', `reading the response failed (${(err as Error).message})`);
  }
  if (!response.ok) return fail('http', `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  if (Buffer.byteLength(text) > maxResultBytes)
    return fail('too-large', `result larger than ${maxResultBytes} bytes`);
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

/** The URL without credentials or query (tokens live there too). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(bad url)';
  }
}

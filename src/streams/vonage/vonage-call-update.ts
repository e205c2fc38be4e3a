// Transfer of a Vonage WebSocket call, and DTMF played into it: the Voice API's modify-call request
// (PUT {api}/v1/calls/{uuid}, `{"action":"transfer","destination":{"type":"ncco","ncco":[…]}}`)
// under an application JWT — RS256 with the application's private key, claims application_id,
// iat, jti, exp (developer.vonage.com "Authentication: JWTs"). The new NCCO connects the caller to
// the target: a `sip:` URI as a sip endpoint, anything else as a phone number. Vonage then leaves
// our websocket (it closes) and connects the caller. DTMF: PUT {api}/v1/calls/{uuid}/dtmf with
// `{"digits":"…"}` under the same JWT. node:crypto signs RS256; no SDK needed.
import { createSign, randomUUID } from 'node:crypto';
import type { StreamTransferOutcome } from '../media-stream-call.js';

export interface VonageRestCredentials {
  readonly applicationId: string;
  /** PEM, from ${VONAGE_PRIVATE_KEY}. */
  readonly privateKey: string;
  /** https://api.nexmo.com; tests point it at a local server. */
  readonly apiBaseUrl: string;
}

const timeoutMs = 10_000;
/** The JWT only has to outlive this one request. */
const jwtLifetimeSec = 300;

export function applicationJwt(
  credentials: VonageRestCredentials,
  nowSec = Math.floor(Date.now() / 1000),
): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({
    application_id: credentials.applicationId,
    iat: nowSec,
    jti: randomUUID(),
    exp: nowSec + jwtLifetimeSec,
  })}`;
  const signature = createSign('RSA-SHA256').update(head).sign(credentials.privateKey).toString('base64url');
  return `${head}.${signature}`;
}

export function transferNcco(target: string): unknown[] {
  const endpoint = /^sips?:/i.test(target)
    ? { type: 'sip', uri: target }
    : { type: 'phone', number: target.replace(/^tel:/i, '').replace(/^\+/, '') };
  return [{ action: 'connect', endpoint: [endpoint] }];
}

export async function transferCall(
  credentials: VonageRestCredentials,
  uuid: string,
  target: string,
): Promise<StreamTransferOutcome> {
  const url = `${credentials.apiBaseUrl.replace(/\/$/, '')}/v1/calls/${encodeURIComponent(uuid)}`;
  try {
    const response = await fetch(url, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${applicationJwt(credentials)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ action: 'transfer', destination: { type: 'ncco', ncco: transferNcco(target) } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    return { accepted: response.ok, status: response.status, reason: response.statusText || 'modify call' };
  } catch (err) {
    return { accepted: false, status: 503, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Plays `digits` into the call (the agent's send_dtmf tool, e.g. to walk an IVR). */
export async function sendCallDtmf(
  credentials: VonageRestCredentials,
  uuid: string,
  digits: string,
): Promise<void> {
  const url = `${credentials.apiBaseUrl.replace(/\/$/, '')}/v1/calls/${encodeURIComponent(uuid)}/dtmf`;
  const response = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${applicationJwt(credentials)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ digits }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`Vonage DTMF request answered ${response.status} ${response.statusText}`);
}

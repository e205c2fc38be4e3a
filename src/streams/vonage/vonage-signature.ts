// Vonage signed webhooks (developer.vonage.com "Signed webhooks"): the request carries
// `Authorization: Bearer <JWT>`, HS256 with the account's signature secret; its claims include
// `payload_hash`, the SHA-256 (hex) of the request body, so a body changed on the way is caught.
// node:crypto does HS256 in a few lines; no JWT library needed.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Why a signed webhook was refused, or null when it is good. */
export function vonageWebhookProblem(
  secret: string,
  authorization: string | undefined,
  body: Buffer,
  nowSec = Date.now() / 1000,
): string | null {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) return 'no Bearer token';
  const parts = token.split('.');
  if (parts.length !== 3) return 'not a JWT';
  const [headerB64, claimsB64, signature] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: { payload_hash?: unknown; exp?: unknown; nbf?: unknown };
  try {
    header = JSON.parse(Buffer.from(headerB64, 'base64url').toString('utf8')) as typeof header;
    claims = JSON.parse(Buffer.from(claimsB64, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return 'JWT parts are not JSON';
  }
  if (header.alg !== 'HS256') return `JWT alg ${String(header.alg)}, not HS256`;
  const expected = createHmac('sha256', secret).update(`${headerB64}.${claimsB64}`).digest('base64url');
  if (!equal(signature, expected)) return 'JWT signature does not match the signature secret';
  if (typeof claims.exp === 'number' && claims.exp < nowSec) return 'JWT expired';
  if (typeof claims.nbf === 'number' && claims.nbf > nowSec + 300) return 'JWT not valid yet';
  if (body.length > 0) {
    const hash = createHash('sha256').update(body).digest('hex');
    if (typeof claims.payload_hash !== 'string' || !equal(claims.payload_hash.toLowerCase(), hash)) {
      return 'payload_hash does not match the body';
    }
  }
  return null;
}

/** The `token` header our NCCO gives the stream: only our answer webhook's calls carry it. */
export function callToken(secret: string, uuid: string): string {
  return createHmac('sha256', secret).update(`stream:${uuid}`, 'utf8').digest('base64url');
}

export function validCallToken(secret: string | undefined, uuid: string, token: string): boolean {
  if (secret === undefined || uuid === '' || token === '') return false;
  return equal(token, callToken(secret, uuid));
}

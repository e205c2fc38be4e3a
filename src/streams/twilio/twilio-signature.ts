// X-Twilio-Signature (Twilio "Webhooks security"): base64 of HMAC-SHA1, keyed with the account's
// auth token, over the full URL Twilio requested followed by every POST parameter, sorted by
// name, as name then value with no separators. The official `twilio` package does the same in a
// few lines but brings axios, dayjs, jsonwebtoken, qs and xmlbuilder with it (6.x): not worth it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  let data = url;
  for (const name of names) {
    // A repeated parameter contributes each value, in sorted order (as Twilio's libraries do).
    for (const value of params.getAll(name).sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Constant-time comparison of the header against the expected signature. */
export function validTwilioSignature(
  authToken: string,
  url: string,
  params: URLSearchParams,
  header: string | undefined,
): boolean {
  if (header === undefined || header === '') return false;
  const expected = Buffer.from(twilioSignature(authToken, url, params));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The per-call token our TwiML passes to the stream as a <Parameter>: only a stream started by a
 * signed voice webhook carries it, so nobody else can open streams (and agent sessions) on us.
 */
export function streamToken(authToken: string, callSid: string): string {
  return createHmac('sha256', authToken).update(`stream:${callSid}`, 'utf8').digest('base64url');
}

export function validStreamToken(authToken: string, callSid: string, token: string | undefined): boolean {
  if (token === undefined) return false;
  const expected = Buffer.from(streamToken(authToken, callSid));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// The webhook checks against the providers' own definitions: Twilio's worked example from its
// webhook-security page (twilio.com/docs/usage/security#validating-requests: auth token 12345,
// that URL and those parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=), and Vonage signed-webhook
// JWTs (HS256 over header.claims with the signature secret, payload_hash = SHA-256 hex of the body).
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { twilioSignature, validTwilioSignature } from '../../src/streams/twilio/twilio-signature.js';
import { vonageWebhookProblem } from '../../src/streams/vonage/vonage-signature.js';

t.test('Twilio: the documented example', async (t) => {
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  // Written out of order on purpose: the signature sorts them.
  const params = new URLSearchParams({
    To: '+18005551212',
    CallSid: 'CA1234567890ABCDE',
    Digits: '1234',
    From: '+12349013030',
    Caller: '+12349013030',
  });
  t.equal(twilioSignature('12345', url, params), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  t.ok(validTwilioSignature('12345', url, params, '0/KCTR6DLpKmkAf8muzZqo1nDgQ='));
  t.notOk(validTwilioSignature('12345', url, params, '0/KCTR6DLpKmkAf8muzZqo1nDgQ'), 'one character short');
  t.notOk(validTwilioSignature('54321', url, params, '0/KCTR6DLpKmkAf8muzZqo1nDgQ='), 'another token');
  t.notOk(validTwilioSignature('12345', `${url}&x=1`, params, '0/KCTR6DLpKmkAf8muzZqo1nDgQ='), 'another URL');
  t.notOk(validTwilioSignature('12345', url, params, undefined), 'no header');
});

function jwt(secret: string, claims: Record<string, unknown>, alg = 'HS256'): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg, typ: 'JWT' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

t.test('Vonage: signed webhook JWTs', async (t) => {
  const secret = 'sig-secret';
  const body = Buffer.from('{"status":"answered","uuid":"u1"}');
  const hash = createHash('sha256').update(body).digest('hex');
  const now = Math.floor(Date.now() / 1000);
  t.equal(
    vonageWebhookProblem(secret, `Bearer ${jwt(secret, { iat: now, payload_hash: hash })}`, body),
    null,
    'good',
  );
  t.equal(
    vonageWebhookProblem(secret, `Bearer ${jwt(secret, { iat: now })}`, Buffer.alloc(0)),
    null,
    'GET: no body to hash',
  );
  t.match(vonageWebhookProblem('other', `Bearer ${jwt(secret, { payload_hash: hash })}`, body), /signature/);
  t.match(
    vonageWebhookProblem(secret, `Bearer ${jwt(secret, { payload_hash: 'ab' })}`, body),
    /payload_hash/,
  );
  t.match(
    vonageWebhookProblem(secret, `Bearer ${jwt(secret, { payload_hash: hash, exp: now - 10 })}`, body),
    /expired/,
  );
  t.match(vonageWebhookProblem(secret, `Bearer ${jwt(secret, { payload_hash: hash }, 'none')}`, body), /alg/);
  t.match(vonageWebhookProblem(secret, undefined, body), /no Bearer/);
  t.match(vonageWebhookProblem(secret, 'Bearer abc.def', body), /not a JWT/);
});

// streams: calls that arrive as carrier media streams on the HTTP listener (docs/twilio.md,
// docs/vonage.md). Secrets are `${TWILIO_AUTH_TOKEN}`-style references, resolved from the
// environment by the loader, never literal in the file.
import { z } from 'zod';

const int = (min: number, max: number) =>
  z
    .number({ error: `an integer ${min}–${max}` })
    .int()
    .min(min)
    .max(max);
const nonEmpty = z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' });
const publicUrl = z
  .string({ error: 'an https:// URL (the public base the carrier reaches us by)' })
  .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/i, {
    error: 'an https:// URL (the public base the carrier reaches us by)',
  });
const urlPath = z
  .string({ error: 'a URL path like /twilio/voice' })
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, { error: 'a URL path like /twilio/voice' });
const flag = z.boolean({ error: 'true or false' });

const twilio = z.strictObject({
  publicUrl,
  /** ${TWILIO_AUTH_TOKEN}: checks X-Twilio-Signature, signs the stream token, authenticates transfers. */
  authToken: nonEmpty,
  /** ${TWILIO_ACCOUNT_SID}: needed only for transfers (call update). */
  accountSid: nonEmpty.optional(),
  apiBaseUrl: publicUrl.default('https://api.twilio.com'),
  voicePath: urlPath.default('/twilio/voice'),
  streamPath: urlPath.default('/twilio/stream'),
  validateSignature: flag.default(true),
});

const vonage = z
  .strictObject({
    publicUrl,
    /** ${VONAGE_SIGNATURE_SECRET}: verifies signed webhooks, signs the stream token. */
    signatureSecret: nonEmpty.optional(),
    /** ${VONAGE_APPLICATION_ID} and ${VONAGE_PRIVATE_KEY} (PEM): needed only for transfers. */
    applicationId: nonEmpty.optional(),
    privateKey: nonEmpty.optional(),
    apiBaseUrl: publicUrl.default('https://api.nexmo.com'),
    sampleRate: z.union([z.literal(16000), z.literal(8000)], { error: '16000 or 8000' }).default(16000),
    answerPath: urlPath.default('/vonage/answer'),
    eventsPath: urlPath.default('/vonage/events'),
    streamPath: urlPath.default('/vonage/stream'),
    validateSignature: flag.default(true),
  })
  .refine((v) => !v.validateSignature || v.signatureSecret !== undefined, {
    error: 'signatureSecret is required while validateSignature is true (${VONAGE_SIGNATURE_SECRET})',
    path: ['signatureSecret'],
  });

export const streamsSchema = z
  .strictObject({
    /** Stream calls at once (besides sip.maxCalls); past it the answer webhook turns calls away. */
    maxCalls: int(1, 100_000).default(100),
    twilio: twilio.optional(),
    vonage: vonage.optional(),
  })
  .default({ maxCalls: 100 });

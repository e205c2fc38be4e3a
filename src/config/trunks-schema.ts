// trunks: where outbound calls go (issue 18). A trunk is a SIP proxy or carrier we send INVITEs
// to, with its digest credentials (`${ENV}` references, never literal in the file), the From we
// present, and its own limits. A trunk may instead name one of sip.registrations: its calls then
// go to that registrar with the registration's credentials and its AOR as From.
import { z } from 'zod';

const int = (min: number, max: number) =>
  z
    .number({ error: `an integer ${min}–${max}` })
    .int()
    .min(min)
    .max(max);
const nonEmpty = z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' });
const sipUri = z
  .string({ error: 'a sip: or sips: URI' })
  .regex(/^sips?:[^\s]+$/i, { error: 'a sip: or sips: URI' });
/** RFC 3261 §25.1 token characters: a From user or a host name we put on the wire as is. */
const sipToken = z
  .string({ error: 'a SIP user or host (letters, digits, -_.!~*+)' })
  .regex(/^[A-Za-z0-9\-_.!~*+]+$/, { error: 'a SIP user or host (letters, digits, -_.!~*+)' });

const trunk = z
  .strictObject({
    name: z
      .string({ error: 'a name of letters, digits, - and _' })
      .regex(/^[A-Za-z0-9_-]+$/, { error: 'a name of letters, digits, - and _' }),
    /** Where the INVITE goes: sip:carrier.example.com:5060 (a dialled number becomes its user). */
    proxy: sipUri.optional(),
    /** The AOR of one of sip.registrations: calls go to its registrar, with its credentials. */
    registration: sipUri.optional(),
    transport: z.enum(['udp', 'tcp', 'tls'], { error: 'udp, tcp or tls' }).optional(),
    username: nonEmpty.optional(),
    password: nonEmpty.optional(),
    fromUser: sipToken.optional(),
    fromDomain: sipToken.optional(),
    /** Calls up at once on this trunk; the next one is refused with a clear error. */
    maxCalls: int(1, 100_000).default(10),
    /** New calls per second (a token bucket of this rate and burst). */
    maxCallsPerSec: int(1, 1000).default(5),
    /** Ring timeout: no answer within this time → CANCEL (a request may ask for less). */
    ringTimeoutSec: int(1, 300).default(60),
  })
  .superRefine((t, ctx) => {
    if ((t.proxy === undefined) === (t.registration === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['proxy'],
        message: 'either proxy or registration (one of the two)',
      });
    }
    if ((t.username === undefined) !== (t.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [t.username === undefined ? 'username' : 'password'],
        message: 'username and password together (the password as ${ENV} reference)',
      });
    }
  });

export const trunksSchema = z
  .array(trunk, { error: 'a list of trunks' })
  .default([])
  .superRefine((trunks, ctx) => {
    const seen = new Set<string>();
    trunks.forEach((t, i) => {
      if (seen.has(t.name)) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'a name used by no other trunk' });
      }
      seen.add(t.name);
    });
  });

export type TrunkConfig = z.output<typeof trunksSchema>[number];

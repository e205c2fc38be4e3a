// Schema of sip-config/grok-sip.yaml. Every leaf carries the "expected …" text of its error
// message; defaults here are the documented defaults of the shipped file.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../signaling/inbound-policy.js';
import { agentsSchema } from './agents-schema.js';
import { streamsSchema } from './streams-schema.js';
import { trunksSchema } from './trunks-schema.js';

const int = (min: number, max: number) =>
  z
    .number({ error: `an integer ${min}–${max}` })
    .int()
    .min(min)
    .max(max);
const port = int(1, 65535);
const ipAddress = z
  .string({ error: 'an IPv4 or IPv6 address' })
  .refine((text) => isIP(text) !== 0, { error: 'an IPv4 or IPv6 address' });
/** An address others reach us at: an IP, or a DNS name for SIP (RFC 3261 Contact/Via host). */
const hostOrIp = z
  .string({ error: 'an IP address or host name' })
  .regex(/^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$/, { error: 'an IP address or host name' });
const sipUri = z
  .string({ error: 'a sip: or sips: URI' })
  .regex(/^sips?:[^\s]+$/i, { error: 'a sip: or sips: URI' });
const cidr = z.string({ error: 'an IP address or CIDR like 10.0.0.0/8' }).refine(
  (text) => {
    try {
      parseCidr(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'an IP address or CIDR like 10.0.0.0/8' },
);
const nonEmpty = z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' });
const directory = nonEmpty;

const plainListen = z.strictObject({
  transport: z.enum(['udp', 'tcp'], { error: 'udp, tcp or tls' }),
  address: ipAddress,
  port,
});
// SIP over TLS (RFC 3261 §26.2): PEM files, read at start and again on SIGHUP.
const tlsListen = z.strictObject({
  transport: z.literal('tls', { error: 'udp, tcp or tls' }),
  address: ipAddress,
  port,
  cert: nonEmpty,
  key: nonEmpty,
  ca: nonEmpty.optional(),
  requireClientCert: z.boolean({ error: 'true or false' }).default(false),
});
const listen = z.discriminatedUnion('transport', [plainListen, tlsListen], {
  error: 'udp, tcp or tls',
});

const registration = z.strictObject({
  aor: sipUri,
  registrar: sipUri,
  username: nonEmpty.optional(),
  password: z.string({ error: 'a string' }).optional(),
  expiresSec: int(30, 86400).default(300),
});

const inbound = z.strictObject({
  allow: z
    .array(cidr, { error: 'a list of CIDRs' })
    .min(1, { error: 'at least one CIDR (0.0.0.0/0 and ::/0 allow anyone)' })
    .default(['0.0.0.0/0', '::/0']),
  // YAML reads a bare 403 as a number.
  onReject: z
    .preprocess((v) => (v === 403 ? '403' : v), z.enum(['drop', '403'], { error: 'drop or 403' }))
    .default('drop'),
  digest: z
    .strictObject({
      realm: z
        .string({ error: 'a realm without quotes' })
        .regex(/^[^"\\\r\n]+$/, { error: 'a realm without quotes' }),
      users: z
        .array(z.strictObject({ username: nonEmpty, password: nonEmpty }), {
          error: 'a list of {username, password}',
        })
        .min(1, { error: 'at least one user' }),
      nonceTtlSec: int(10, 3600).default(300),
    })
    .optional(),
});

const drachtio = z.strictObject({
  // drachtio's terms: inbound = we connect to drachtio-server (srf.connect to host:port);
  // outbound = drachtio-server connects to us for each call (srf.listen on listenPort).
  mode: z.enum(['inbound', 'outbound'], { error: 'inbound or outbound' }),
  host: hostOrIp.default('127.0.0.1'),
  port: port.default(9022),
  secret: nonEmpty,
  listenPort: port.default(3000),
});

// sip.limits (src/signaling/sip-limits.ts has the reasoning behind each default).
const limits = z.strictObject({
  maxMessageBytes: int(1500, 1_048_576).default(65_535),
  maxHeaders: int(16, 4096).default(256),
  maxTcpConnections: int(1, 100_000).default(1024),
  tcpIdleSec: int(1, 86_400).default(300),
  tcpMessageTimeoutSec: int(1, 600).default(10),
  requestsPerSec: int(0, 100_000).default(100),
  requestBurst: int(1, 1_000_000).default(200),
});

const sip = z
  .strictObject({
    backend: z.enum(['embedded', 'drachtio'], { error: 'embedded or drachtio' }).default('embedded'),
    listen: z
      .array(listen, { error: 'a list of {transport, address, port}' })
      .min(1, { error: 'at least one listener' })
      .default([
        { transport: 'udp', address: '127.0.0.1', port: 5060 },
        { transport: 'tcp', address: '127.0.0.1', port: 5060 },
      ]),
    advertisedAddress: hostOrIp.optional(),
    maxCalls: int(1, 100000).default(100),
    retryAfterSec: int(1, 3600).default(5),
    userAgent: nonEmpty.default('grok-sip'),
    registrations: z.array(registration, { error: 'a list of registrations' }).default([]),
    inbound: inbound.default({ allow: ['0.0.0.0/0', '::/0'], onReject: 'drop' }),
    drachtio: drachtio.optional(),
    limits: limits.default(() => limits.parse({})),
    forceRport: z.boolean({ error: 'true or false' }).default(true),
  })
  .superRefine((s, ctx) => {
    if (s.backend === 'drachtio' && s.drachtio === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['drachtio'],
        message: 'a drachtio section when backend is drachtio',
      });
    }
    // In drachtio's outbound mode drachtio-server connects only per call: there is no standing
    // connection to send REGISTER over (the backend refuses it at start too).
    if (s.backend === 'drachtio' && s.drachtio?.mode === 'outbound' && s.registrations.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['drachtio', 'mode'],
        params: { value: 'outbound' },
        message:
          'inbound when sip.registrations are set (outbound mode has no standing connection to register over)',
      });
    }
    // The embedded backend connects out over TLS from a tls listener: its certificate is our client
    // certificate, its port the one our Via and Contact name.
    if (s.backend === 'embedded' && !s.listen.some((l) => l.transport === 'tls')) {
      s.registrations.forEach((r, i) => {
        if (/^sips:/i.test(r.registrar) || /;transport=tls\b/i.test(r.registrar)) {
          ctx.addIssue({
            code: 'custom',
            path: ['registrations', i, 'registrar'],
            params: { value: r.registrar },
            message: 'a tls listener in sip.listen for a registrar over TLS (TLS connects out from it)',
          });
        }
      });
    }
  });

const media = z
  .strictObject({
    rtpAddress: ipAddress.default('127.0.0.1'),
    advertisedAddress: ipAddress.optional(),
    portMin: int(1024, 65535).default(40000),
    portMax: int(1024, 65535).default(40999),
    codecs: z
      .array(z.enum(['PCMU', 'PCMA'], { error: 'PCMU or PCMA' }), { error: 'a list of PCMU, PCMA' })
      .min(1, { error: 'at least one of PCMU, PCMA' })
      .default(['PCMU', 'PCMA']),
    ptimeMs: z
      .union([z.literal(10), z.literal(20), z.literal(30), z.literal(40), z.literal(50), z.literal(60)], {
        error: 'one of 10, 20, 30, 40, 50, 60',
      })
      .default(20),
    jitter: z
      .strictObject({
        minDelayMs: int(0, 1000).default(20),
        maxDelayMs: int(20, 1000).default(200),
        // ms of delay that 1 % of late audio is worth (native/jitter_buffer.h).
        lateCostMs: z
          .number({ error: 'a number of ms, > 0 and ≤ 1000' })
          .positive({ error: '> 0' })
          .max(1000, { error: '≤ 1000' })
          .default(6.5),
      })
      .default({ minDelayMs: 20, maxDelayMs: 200, lateCostMs: 6.5 }),
    // 0 disables the check (e.g. peers that suppress silence without comfort noise).
    rtpTimeoutSec: int(0, 3600).default(30),
    // SRTP with SDES keys (RFC 3711 / 4568): optional answers RTP/SAVP offers with SRTP and plain
    // ones plainly; required refuses plain offers (488) and offers RTP/SAVP itself; off refuses RTP/SAVP.
    srtp: z.enum(['off', 'optional', 'required'], { error: 'off, optional or required' }).default('optional'),
    // Call threads: 0 = calls run on the main thread with SIP; N = sharded over N worker threads
    // (each with its own media clock, RTP sockets and realtime sockets); auto = one per core.
    workers: z.union([z.literal('auto'), int(0, 64)], { error: 'auto or an integer 0–64' }).default('auto'),
    recordings: z
      .strictObject({ dir: directory, wav: z.boolean({ error: 'true or false' }).default(true) })
      .optional(),
    transcripts: z.strictObject({ dir: directory }).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.portMax < m.portMin) {
      ctx.addIssue({
        code: 'custom',
        path: ['portMax'],
        params: { value: m.portMax },
        message: `≥ media.portMin (${m.portMin})`,
      });
    }
    if (m.jitter.maxDelayMs < m.jitter.minDelayMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['jitter', 'maxDelayMs'],
        params: { value: m.jitter.maxDelayMs },
        message: `≥ media.jitter.minDelayMs (${m.jitter.minDelayMs})`,
      });
    }
    if (new Set(m.codecs).size !== m.codecs.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['codecs'],
        params: { value: m.codecs },
        message: 'each codec at most once',
      });
    }
  });

const realtime = z.strictObject({
  url: z
    .string({ error: 'a ws:// or wss:// URL' })
    .regex(/^wss?:\/\/[^\s/]+/i, { error: 'a ws:// or wss:// URL' })
    .default('wss://api.x.ai/v1/realtime'),
  model: nonEmpty.default('grok-voice-latest'),
  /** From XAI_API_KEY only (see load-config.ts); absent = the local agent answers. */
  apiKey: z.string().optional(),
  localAgent: z
    .strictObject({ mode: z.enum(['echo'], { error: 'echo' }).default('echo') })
    .default({ mode: 'echo' }),
  // A half-open or stuck socket ends with a cause and the session reconnects (socket-liveness.ts).
  liveness: z
    .strictObject({
      pingIntervalSec: int(0, 600).default(10),
      pongTimeoutSec: int(1, 120).default(5),
      idleTimeoutSec: int(0, 3600).default(30),
      maxBufferedMs: int(200, 60_000).default(2000),
    })
    .default({ pingIntervalSec: 10, pongTimeoutSec: 5, idleTimeoutSec: 30, maxBufferedMs: 2000 }),
});

export const configSchema = z
  .strictObject({
    sip: sip.default(() => sip.parse({})),
    media: media.default(() => media.parse({})),
    realtime: realtime.default(() => realtime.parse({})),
    agents: agentsSchema,
    http: z
      .strictObject({ address: ipAddress.default('127.0.0.1'), port: port.default(9090) })
      .default({ address: '127.0.0.1', port: 9090 }),
    // Twilio Media Streams and Vonage WebSocket calls on the HTTP listener; absent = SIP only.
    streams: streamsSchema,
    // Outbound calls go through a trunk (trunks-schema.ts); none = outbound calls refused.
    trunks: trunksSchema,
    shutdown: z.strictObject({ drainTimeoutSec: int(0, 3600).default(30) }).default({ drainTimeoutSec: 30 }),
    // One JSON line per call besides the log line; absent = log only.
    cdr: z.strictObject({ file: nonEmpty.optional() }).default({}),
  })
  .superRefine((c, ctx) => {
    // As for registrars (sip above): the embedded backend connects out over TLS from a tls listener.
    if (c.sip.backend !== 'embedded' || c.sip.listen.some((l) => l.transport === 'tls')) return;
    c.trunks.forEach((trunk, i) => {
      const sips = trunk.proxy !== undefined && /^sips:/i.test(trunk.proxy);
      if (trunk.transport !== 'tls' && !sips) return;
      ctx.addIssue({
        code: 'custom',
        path: ['trunks', i, sips ? 'proxy' : 'transport'],
        params: { value: sips ? trunk.proxy : 'tls' },
        message: 'a tls listener in sip.listen for a trunk over TLS (TLS connects out from it)',
      });
    });
  })
  .superRefine((c, ctx) => {
    // A trunk that borrows a registration must name one that exists (trunks-schema.ts).
    c.trunks.forEach((trunk, i) => {
      if (trunk.registration === undefined) return;
      if (c.sip.registrations.some((r) => r.aor === trunk.registration)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['trunks', i, 'registration'],
        params: { value: trunk.registration },
        message: `the aor of one of sip.registrations (${c.sip.registrations.map((r) => r.aor).join(', ') || 'none configured'})`,
      });
    });
  });

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, frozen configuration. */
export type GrokSipConfig = DeepReadonly<z.output<typeof configSchema>>;

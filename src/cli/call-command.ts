// `grok-sip call <sip-uri>`: place a test call through our own SIP stack, play a WAV or a tone,
// record what comes back, print setup time, time to first audio and RTP stats.
// Exit 0 when the call was answered, 1 when it failed (status printed), 2 on bad arguments.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readWav, wavHeader, WavFormatError } from '../media/wav-file.js';
import { logger } from '../observability/logger.js';
import { OutboundCallError } from '../signaling/embedded/outbound-call.js';
import { placeTestCall, toNarrowband, toneAudio, type TestCallReport } from './test-call.js';

const usage = `usage: grok-sip call <sip-uri> [options]

Places a test call through grok-sip's own SIP stack (e.g. to a running grok-sip: sip:echo@127.0.0.1:5060).

  --play <file.wav>     audio to send (16-bit PCM WAV, 8/16/24/48 kHz; first channel)
  --tone <hz>           send a 2 s tone instead (default 440 Hz when --play is not given)
  --duration <s>        hang up after this many seconds (default 8)
  --record <out.wav>    write what comes back (8 kHz mono)
  --codec PCMU|PCMA     codec to offer (default PCMU)
  --transport udp|tcp|tls  SIP transport (default udp; tls for a sips: target)
  --tls-cert <file>     with tls: our certificate (PEM), for the TLS listener the call's
                        in-dialog requests reach and as client certificate
  --tls-key <file>      its private key (PEM)
  --tls-ca <file>       CAs trusted besides the system ones to verify the far end (PEM)
  --from <user>         From/Contact user (default grok-sip-call)
  --local <address>     local address for SIP and RTP (default 127.0.0.1)
  --rtp-ports <lo-hi>   local RTP port range (default 41000-41999)
  --user <name>         digest user if the far end challenges (401/407); the password comes
                        from the GROK_SIP_CALL_PASSWORD environment variable, never the command line
  --timeout <s>         give up (CANCEL) when there is no answer within this time (default 32)
  --json                print the result as one JSON object
  -h, --help            this text`;

export async function run(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        play: { type: 'string' },
        tone: { type: 'string' },
        duration: { type: 'string' },
        record: { type: 'string' },
        codec: { type: 'string' },
        transport: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        from: { type: 'string' },
        local: { type: 'string' },
        'rtp-ports': { type: 'string' },
        user: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return bad((err as Error).message);
  }
  const { values, positionals } = parsed;
  // The report below is the output; the stack's info lines would only interleave with it.
  if (process.env.GROK_SIP_LOG_LEVEL === undefined) logger.level = 'warn';
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const target = positionals[0];
  if (target === undefined || !/^sips?:[^\s]+$/i.test(target)) {
    return bad(target === undefined ? 'a SIP URI to call is required' : `${target} is not a sip: URI`);
  }
  const codec = (values.codec ?? 'PCMU').toUpperCase();
  if (codec !== 'PCMU' && codec !== 'PCMA') return bad(`--codec ${values.codec}: use PCMU or PCMA`);
  const transport = values.transport ?? (/^sips:/i.test(target) ? 'tls' : 'udp');
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls')
    return bad(`--transport ${transport}: use udp, tcp or tls`);
  if (/^sips:/i.test(target) && transport !== 'tls')
    return bad(`${target}: a sips: URI needs --transport tls`);
  const tlsCert = values['tls-cert'];
  const tlsKey = values['tls-key'];
  if (transport === 'tls' && (tlsCert === undefined || tlsKey === undefined))
    return bad('--transport tls needs --tls-cert and --tls-key (our certificate and key)');
  const durationSec = Number(values.duration ?? '8');
  if (!Number.isFinite(durationSec) || durationSec <= 0 || durationSec > 3600) {
    return bad(`--duration ${values.duration}: seconds, 0–3600`);
  }
  const rtpPorts = parsePortRange(values['rtp-ports'] ?? '41000-41999');
  if (rtpPorts === null)
    return bad(`--rtp-ports ${values['rtp-ports']}: two ports lo-hi, 1024–65535, an even/odd pair apart`);
  const answerTimeoutSec = Number(values.timeout ?? '32');
  if (!Number.isFinite(answerTimeoutSec) || answerTimeoutSec <= 0 || answerTimeoutSec > 300) {
    return bad(`--timeout ${values.timeout}: seconds, 0–300`);
  }
  const password = process.env.GROK_SIP_CALL_PASSWORD;
  if (values.user !== undefined && (password === undefined || password === '')) {
    return bad('--user needs the password in GROK_SIP_CALL_PASSWORD');
  }
  let audio: Buffer;
  try {
    if (values.play !== undefined) {
      audio = toNarrowband(readWav(values.play));
    } else {
      const hz = Number(values.tone ?? '440');
      if (!Number.isFinite(hz) || hz < 50 || hz > 3900)
        return bad(`--tone ${values.tone}: a frequency 50–3900 Hz`);
      audio = toneAudio(hz, 2000);
    }
  } catch (err) {
    if (
      err instanceof WavFormatError ||
      err instanceof RangeError ||
      (err as NodeJS.ErrnoException).code === 'ENOENT'
    ) {
      return bad(`--play: ${(err as Error).message}`);
    }
    throw err;
  }

  let report: TestCallReport;
  try {
    report = await placeTestCall({
      target,
      transport,
      localAddress: values.local ?? '127.0.0.1',
      codec,
      audio,
      durationMs: durationSec * 1000,
      rtpPortMin: rtpPorts.min,
      rtpPortMax: rtpPorts.max,
      ...(values.from !== undefined && { fromUser: values.from }),
      ...(values.user !== undefined && { credentials: { username: values.user, password: password! } }),
      ...(transport === 'tls' && { tls: { cert: tlsCert!, key: tlsKey!, ca: values['tls-ca'] } }),
      answerTimeoutMs: answerTimeoutSec * 1000,
    });
  } catch (err) {
    const status = err instanceof OutboundCallError ? err.status : undefined;
    const message = `call to ${target} failed: ${(err as Error).message}`;
    if (values.json === true) console.log(JSON.stringify({ ok: false, status, error: message }));
    else console.error(`grok-sip call: ${message}`);
    return 1;
  }
  if (values.record !== undefined) {
    writeFileSync(
      values.record,
      Buffer.concat([wavHeader(8000, 1, report.received.length), report.received]),
    );
  }
  const inbound = report.rtp.inbound;
  const result = {
    ok: true,
    setupMs: Math.round(report.setupMs),
    firstAudioMs: report.firstAudioMs === undefined ? null : Math.round(report.firstAudioMs),
    ended: report.ended,
    rtp: {
      packetsSent: report.rtp.packetsOut,
      packetsReceived: report.rtp.packetsIn,
      lost: inbound?.cumulativeLost ?? 0,
      jitterMs: Math.round((inbound?.jitterMs ?? 0) * 10) / 10,
    },
    receivedMs: Math.round(report.received.length / 16),
    ...(values.record !== undefined && { recording: values.record }),
  };
  if (values.json === true) {
    console.log(JSON.stringify(result));
  } else {
    console.log(
      [
        `call to ${target}: answered`,
        `  setup time        ${result.setupMs} ms (INVITE → 200 OK)`,
        `  first audio       ${result.firstAudioMs === null ? 'none heard' : `${result.firstAudioMs} ms after the answer`}`,
        `  RTP               sent ${result.rtp.packetsSent}, received ${result.rtp.packetsReceived}, lost ${result.rtp.lost}, jitter ${result.rtp.jitterMs} ms`,
        `  ended by          ${report.ended === 'local-bye' ? 'us (BYE after --duration)' : 'the far end (BYE)'}`,
        ...(values.record !== undefined
          ? [`  recording         ${values.record} (${result.receivedMs} ms)`]
          : []),
      ].join('\n'),
    );
  }
  return 0;
}

function parsePortRange(text: string): { min: number; max: number } | null {
  const match = /^(\d{4,5})-(\d{4,5})$/.exec(text);
  if (match === null) return null;
  const min = Number(match[1]);
  const max = Number(match[2]);
  // RTP takes an even port and RTCP the next one (RFC 3550 §11).
  if (min < 1024 || max > 65535 || max - min < 1 + (min % 2)) return null;
  return { min, max };
}

function bad(message: string): number {
  console.error(`grok-sip call: ${message}\n\n${usage}`);
  return 2;
}

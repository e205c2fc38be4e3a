// One test call placed through our own stack, as `grok-sip call` and the call benchmark use it:
// INVITE with a G.711 offer, play prepared audio on the media clock, keep what comes back (by RTP
// timestamp, so reordering and gaps land in the right place), hang up, report timings and stats.
import { performance } from 'node:perf_hooks';
import type { CallCodec } from '../audio/audio-format.js';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from '../media/g711.js';
import { mediaClock } from '../media/media-clock.js';
import { PortPool } from '../media/port-pool.js';
import { Resampler, type ResamplerRate } from '../media/resampler.js';
import { RtpSession, type RtpSessionStats } from '../media/rtp-session.js';
import type { PcmAudio } from '../media/wav-file.js';
import { EmbeddedBackend } from '../signaling/embedded/embedded-backend.js';
import type { OutboundCredentials } from '../signaling/embedded/outbound-call.js';
import { buildOffer, parseAnswer } from '../signaling/sdp/index.js';

export interface TestCallOptions {
  readonly target: string;
  readonly transport: 'udp' | 'tcp' | 'tls';
  /** With transport tls: our certificate, key and extra CAs (PEM files). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string | undefined };
  readonly localAddress: string;
  readonly codec: CallCodec;
  /** 8 kHz mono PCM16 to send, then silence until the end of the call. */
  readonly audio: Buffer;
  readonly durationMs: number;
  readonly fromUser?: string;
  readonly rtpPortMin?: number;
  readonly rtpPortMax?: number;
  /** Digest credentials for one 401/407 challenge. */
  readonly credentials?: OutboundCredentials;
  /** No final response within this time → CANCEL, 408 (default 32 s). */
  readonly answerTimeoutMs?: number;
}

export interface TestCallReport {
  readonly setupMs: number;
  /** Answer → first received packet louder than −36 dBFS mean (see `audibleMeanAbs`). */
  readonly firstAudioMs: number | undefined;
  readonly ended: 'local-bye' | 'remote-bye';
  readonly rtp: RtpSessionStats;
  /** What came back, 8 kHz mono PCM16, on the sender's RTP timeline from its first packet. */
  readonly received: Buffer;
}

/** Mean absolute sample value above which a packet counts as audio (~ −36 dBFS; silence/noise is far below). */
const audibleMeanAbs = 500;
const frameBytes = 160;

export async function placeTestCall(options: TestCallOptions): Promise<TestCallReport> {
  const backend = new EmbeddedBackend({
    listen: [{ transport: options.transport, address: options.localAddress, port: 0, ...options.tls }],
    maxCalls: 1,
    retryAfterSec: 5,
    userAgent: 'grok-sip-call',
    registrations: [],
    contactUser: options.fromUser ?? 'grok-sip-call',
  });
  await backend.start();
  const pool = new PortPool({
    address: options.localAddress,
    portMin: options.rtpPortMin ?? 41000,
    portMax: options.rtpPortMax ?? 41999,
  });
  const pair = await pool.allocate();
  let unsubscribe = (): void => undefined;
  let rtp: RtpSession | undefined;
  try {
    const offer = buildOffer({ address: options.localAddress, port: pair.rtpPort, codecs: [options.codec] });
    const call = await backend.placeCall({
      target: options.target,
      offerSdp: offer,
      ...(options.fromUser !== undefined && { fromUser: options.fromUser }),
      ...(options.credentials !== undefined && { credentials: options.credentials }),
      ...(options.answerTimeoutMs !== undefined && { timeoutMs: options.answerTimeoutMs }),
    });
    const answeredAtMs = performance.now();
    const negotiated = parseAnswer(call.remoteSdp, { codecs: [options.codec] });
    const session = new RtpSession({
      pair,
      payloadType: negotiated.payloadType,
      ...(negotiated.telephoneEventPt !== undefined && {
        telephoneEventPayloadType: negotiated.telephoneEventPt,
      }),
      remote: { address: negotiated.remoteAddress, port: negotiated.remotePort },
      ptimeMs: 20,
    });
    rtp = session;
    const decode = options.codec === 'PCMU' ? decodeUlaw : decodeAlaw;
    const frames = encodeFrames(options.audio, options.codec);
    const received: { ts: number; pcm: Buffer }[] = [];
    let firstAudioMs: number | undefined;
    session.on('audio', (packet) => {
      const pcm = decode(packet.payload);
      received.push({ ts: packet.ts, pcm });
      if (firstAudioMs === undefined && meanAbs(pcm) > audibleMeanAbs) {
        firstAudioMs = packet.arrivalMs - answeredAtMs;
      }
    });
    let next = 0;
    const silence = Buffer.alloc(frameBytes, options.codec === 'PCMU' ? 0xff : 0xd5);
    unsubscribe = mediaClock.subscribe({
      tick: (nowMs) => session.sendFrame(frames[next++] ?? silence, nowMs),
    });

    let ended: 'local-bye' | 'remote-bye' = 'local-bye';
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.durationMs);
      call.dialog.events.once('bye', () => {
        ended = 'remote-bye';
        clearTimeout(timer);
        resolve();
      });
    });
    unsubscribe();
    if (ended === 'local-bye') await call.dialog.hangup();
    return {
      setupMs: call.setupMs,
      firstAudioMs,
      ended,
      rtp: session.stats,
      received: onTimeline(received),
    };
  } finally {
    unsubscribe();
    await rtp?.close('test call over');
    await pair.close();
    await backend.stop();
  }
}

/** PCM16 8 kHz → 20 ms G.711 payloads (the last one padded with silence). */
function encodeFrames(pcm8k: Buffer, codec: CallCodec): Buffer[] {
  const padded = Buffer.alloc(Math.ceil(pcm8k.length / (frameBytes * 2)) * frameBytes * 2);
  pcm8k.copy(padded);
  const encoded = codec === 'PCMU' ? encodeUlaw(padded) : encodeAlaw(padded);
  const frames: Buffer[] = [];
  for (let at = 0; at < encoded.length; at += frameBytes) frames.push(encoded.subarray(at, at + frameBytes));
  return frames;
}

/** Packets placed by RTP timestamp (8 kHz) from the first one; gaps stay silent. */
function onTimeline(packets: readonly { ts: number; pcm: Buffer }[]): Buffer {
  if (packets.length === 0) return Buffer.alloc(0);
  const ts0 = packets[0]!.ts;
  const offsets = packets.map((p) => ((p.ts - ts0) | 0) * 2);
  const end = Math.max(...packets.map((p, i) => offsets[i]! + p.pcm.length));
  const out = Buffer.alloc(Math.max(0, Math.min(end, 8000 * 2 * 3600)));
  packets.forEach((p, i) => {
    const at = offsets[i]!;
    if (at >= 0 && at + p.pcm.length <= out.length) p.pcm.copy(out, at);
  });
  return out;
}

function meanAbs(pcm: Buffer): number {
  let sum = 0;
  // One 160-sample packet at a time, once per received packet: cheap enough for a test tool.
  for (let i = 0; i < pcm.length; i += 2) sum += Math.abs(pcm.readInt16LE(i));
  return sum / (pcm.length / 2);
}

/** Any supported WAV → 8 kHz mono PCM16 (first channel). */
export function toNarrowband(audio: PcmAudio): Buffer {
  let mono = audio.pcm;
  if (audio.channels > 1) {
    mono = Buffer.alloc((audio.pcm.length / audio.channels) | 0);
    for (let i = 0, o = 0; o < mono.length; i += 2 * audio.channels, o += 2)
      mono.writeInt16LE(audio.pcm.readInt16LE(i), o);
  }
  if (audio.sampleRate === 8000) return mono;
  if (!Resampler.supports(audio.sampleRate, 8000)) {
    throw new RangeError(`WAV sample rate ${audio.sampleRate} Hz: use 8000, 16000, 24000 or 48000`);
  }
  return new Resampler(audio.sampleRate as ResamplerRate, 8000).process(mono);
}

/** A tone of `frequencyHz` for `toneMs`, at −12 dBFS. */
export function toneAudio(frequencyHz: number, toneMs: number): Buffer {
  const samples = Math.round((toneMs * 8000) / 1000);
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    pcm.writeInt16LE(Math.round(0.25 * 32767 * Math.sin((2 * Math.PI * frequencyHz * i) / 8000)), i * 2);
  }
  return pcm;
}

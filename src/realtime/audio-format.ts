// The audio formats the realtime API accepts, and their session JSON. Structurally compatible
// with src/media/audio-format.ts (realtime and media are independent bottom layers, so each
// keeps its own type; the call layer passes one to the other).
//
// Wire shape (xAI voice guide "Audio Format" table; rate field as sent by Pipecat's xAI service):
//   { "type": "audio/pcmu" }               G.711 μ-law, 8000 Hz
//   { "type": "audio/pcma" }               G.711 A-law, 8000 Hz
//   { "type": "audio/pcm", "rate": 16000 } 16-bit little-endian PCM, 8000..48000 Hz (default 24000)

export type RealtimeAudioFormat =
  { encoding: 'pcmu' } | { encoding: 'pcma' } | { encoding: 'pcm'; sampleRate: number };

/** The `format` object inside `session.audio.input` / `session.audio.output`. */
export type SessionAudioFormatJson =
  { type: 'audio/pcmu' } | { type: 'audio/pcma' } | { type: 'audio/pcm'; rate: number };

export const g711SampleRate = 8000;
/** PCM rate the service assumes when `rate` is absent (xAI voice guide). */
export const defaultPcmSampleRate = 24000;
export const minPcmSampleRate = 8000;
export const maxPcmSampleRate = 48000;

export function formatToSessionJson(format: RealtimeAudioFormat): SessionAudioFormatJson {
  assertRealtimeAudioFormat(format);
  if (format.encoding === 'pcm') return { type: 'audio/pcm', rate: format.sampleRate };
  return { type: `audio/${format.encoding}` };
}

/** Parses a session JSON format; throws RangeError/TypeError naming what is wrong. */
export function formatFromSessionJson(json: unknown): RealtimeAudioFormat {
  if (typeof json !== 'object' || json === null) throw new TypeError('audio format must be an object');
  const { type, rate } = json as { type?: unknown; rate?: unknown };
  if (type === 'audio/pcmu') return { encoding: 'pcmu' };
  if (type === 'audio/pcma') return { encoding: 'pcma' };
  if (type !== 'audio/pcm') {
    throw new RangeError(
      `audio format type must be audio/pcmu, audio/pcma or audio/pcm, got ${String(type)}`,
    );
  }
  const sampleRate = rate === undefined ? defaultPcmSampleRate : rate;
  const format = { encoding: 'pcm', sampleRate } as RealtimeAudioFormat;
  assertRealtimeAudioFormat(format);
  return format;
}

export function assertRealtimeAudioFormat(value: unknown): asserts value is RealtimeAudioFormat {
  if (typeof value !== 'object' || value === null) throw new TypeError('audio format must be an object');
  const { encoding, sampleRate } = value as { encoding?: unknown; sampleRate?: unknown };
  if (encoding === 'pcmu' || encoding === 'pcma') return;
  if (encoding !== 'pcm') {
    throw new RangeError(`audio encoding must be 'pcmu', 'pcma' or 'pcm', got ${String(encoding)}`);
  }
  if (
    typeof sampleRate !== 'number' ||
    !Number.isInteger(sampleRate) ||
    sampleRate < minPcmSampleRate ||
    sampleRate > maxPcmSampleRate
  ) {
    throw new RangeError(
      `pcm sampleRate must be an integer from ${minPcmSampleRate} to ${maxPcmSampleRate}, got ${String(sampleRate)}`,
    );
  }
}

export function sampleRateOf(format: RealtimeAudioFormat): number {
  return format.encoding === 'pcm' ? format.sampleRate : g711SampleRate;
}

/** Bytes per sample on the wire: G.711 1, PCM16 2. */
export function bytesPerSample(format: RealtimeAudioFormat): number {
  return format.encoding === 'pcm' ? 2 : 1;
}

/** Bytes of one millisecond of audio (PCM at a rate not divisible by 1000 gives a fraction). */
export function bytesPerMs(format: RealtimeAudioFormat): number {
  return (sampleRateOf(format) / 1000) * bytesPerSample(format);
}

export function durationMs(format: RealtimeAudioFormat, byteLength: number): number {
  return byteLength / bytesPerMs(format);
}

export function sameFormat(a: RealtimeAudioFormat, b: RealtimeAudioFormat): boolean {
  if (a.encoding !== b.encoding) return false;
  return a.encoding !== 'pcm' || a.sampleRate === (b as { sampleRate: number }).sampleRate;
}

/** 'pcmu' | 'pcma' | 'pcm@16000' — for log lines and test names. */
export function formatName(format: RealtimeAudioFormat): string {
  return format.encoding === 'pcm' ? `pcm@${format.sampleRate}` : format.encoding;
}

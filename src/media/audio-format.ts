// The audio formats on either side of the bridge: what the realtime API speaks (G.711 as is, or
// 16-bit little-endian PCM at 16/24 kHz) and what the phone call carries (G.711 at 8 kHz).

/** Realtime API audio format (input or output). */
export type ApiAudioFormat =
  { encoding: 'pcmu' } | { encoding: 'pcma' } | { encoding: 'pcm'; sampleRate: 16000 | 24000 };

/** Codec negotiated on the call leg: RTP static payload types 0 (PCMU) and 8 (PCMA). */
export type CallCodec = 'PCMU' | 'PCMA';

/** Compact name used by the native bindings: 'pcmu' | 'pcma' | 'pcm@16000' | 'pcm@24000'. */
export type ApiFormatName = 'pcmu' | 'pcma' | 'pcm@16000' | 'pcm@24000';

export const g711SampleRate = 8000;
/** G.711 payload bytes per 20 ms RTP packet. */
export const g711FrameBytes = 160;

export function apiFormatName(format: ApiAudioFormat): ApiFormatName {
  return format.encoding === 'pcm' ? `pcm@${format.sampleRate}` : format.encoding;
}

export function sampleRateOf(format: ApiAudioFormat): number {
  return format.encoding === 'pcm' ? format.sampleRate : g711SampleRate;
}

/** Bytes of one millisecond of audio in this format (G.711: 1 byte per sample; PCM16: 2). */
export function bytesPerMs(format: ApiAudioFormat): number {
  return format.encoding === 'pcm' ? (format.sampleRate / 1000) * 2 : g711SampleRate / 1000;
}

/** Duration in ms of `byteLength` bytes of audio in this format. */
export function durationMs(format: ApiAudioFormat, byteLength: number): number {
  return byteLength / bytesPerMs(format);
}

/** True when the API format is the call codec itself, so audio passes through untouched. */
export function isPassThrough(format: ApiAudioFormat, codec: CallCodec): boolean {
  return (format.encoding === 'pcmu' && codec === 'PCMU') || (format.encoding === 'pcma' && codec === 'PCMA');
}

/** Validates a value from config or the wire; throws TypeError/RangeError with the reason. */
export function assertApiAudioFormat(value: unknown): asserts value is ApiAudioFormat {
  if (typeof value !== 'object' || value === null) throw new TypeError('audio format must be an object');
  const { encoding, sampleRate } = value as { encoding?: unknown; sampleRate?: unknown };
  if (encoding === 'pcmu' || encoding === 'pcma') return;
  if (encoding !== 'pcm') {
    throw new RangeError(`audio encoding must be 'pcmu', 'pcma' or 'pcm', got ${String(encoding)}`);
  }
  if (sampleRate !== 16000 && sampleRate !== 24000) {
    throw new RangeError(`pcm sampleRate must be 16000 or 24000, got ${String(sampleRate)}`);
  }
}

export function assertCallCodec(value: unknown): asserts value is CallCodec {
  if (value !== 'PCMU' && value !== 'PCMA') {
    throw new RangeError(`call codec must be 'PCMU' or 'PCMA', got ${String(value)}`);
  }
}

// The one audio-format vocabulary of grok-sip, below every layer that moves audio: what the
// realtime API speaks (G.711 as is, or 16-bit little-endian PCM at a sample rate) and what the
// phone call carries (G.711 at 8 kHz). The media layer (what the native core converts) and the
// realtime layer (the session JSON) narrow or map it; neither keeps a copy.

/** Audio on the agent side of the bridge (realtime API input or output). */
export type AudioFormat =
  { encoding: 'pcmu' } | { encoding: 'pcma' } | { encoding: 'pcm'; sampleRate: number };

/** Codec negotiated on the call leg: RTP static payload types 0 (PCMU) and 8 (PCMA). */
export type CallCodec = 'PCMU' | 'PCMA';

export const g711SampleRate = 8000;
/** G.711 payload bytes per 20 ms RTP packet. */
export const g711FrameBytes = 160;
/** PCM sample rates the realtime API accepts (code that talks to Grok: LiveKit, Pipecat). */
export const PCM_SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const;
export const minPcmSampleRate = 8000;
export const maxPcmSampleRate = 48000;

export function sampleRateOf(format: AudioFormat): number {
  return format.encoding === 'pcm' ? format.sampleRate : g711SampleRate;
}

/** Bytes per sample on the wire: G.711 1, PCM16 2. */
export function bytesPerSample(format: AudioFormat): number {
  return format.encoding === 'pcm' ? 2 : 1;
}

/** Bytes of one millisecond of audio (PCM at a rate not divisible by 1000 gives a fraction). */
export function bytesPerMs(format: AudioFormat): number {
  return (sampleRateOf(format) / 1000) * bytesPerSample(format);
}

/** Duration in ms of `byteLength` bytes of audio in this format. */
export function durationMs(format: AudioFormat, byteLength: number): number {
  return byteLength / bytesPerMs(format);
}

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  if (a.encoding !== b.encoding) return false;
  return a.encoding !== 'pcm' || a.sampleRate === (b as { sampleRate: number }).sampleRate;
}

/** 'pcmu' | 'pcma' | 'pcm@16000' — for log lines, test names and the native bindings. */
export function formatName(format: AudioFormat): string {
  return format.encoding === 'pcm' ? `pcm@${format.sampleRate}` : format.encoding;
}

/** True when the agent's format is the call codec itself, so audio passes through untouched. */
export function isPassThrough(format: AudioFormat, codec: CallCodec): boolean {
  return (format.encoding === 'pcmu' && codec === 'PCMU') || (format.encoding === 'pcma' && codec === 'PCMA');
}

/** Validates a value from config or the wire; throws TypeError/RangeError naming what is wrong. */
export function assertAudioFormat(value: unknown): asserts value is AudioFormat {
  if (typeof value !== 'object' || value === null) throw new TypeError('audio format must be an object');
  const { encoding, sampleRate } = value as { encoding?: unknown; sampleRate?: unknown };
  if (encoding === 'pcmu' || encoding === 'pcma') return;
  if (encoding !== 'pcm') {
    throw new RangeError(`audio encoding must be 'pcmu', 'pcma' or 'pcm', got ${String(encoding)}`);
  }
  if (typeof sampleRate !== 'number' || !(PCM_SAMPLE_RATES as readonly number[]).includes(sampleRate)) {
    throw new RangeError(
      `pcm sampleRate must be one of ${PCM_SAMPLE_RATES.join(', ')}, got ${String(sampleRate)}`,
    );
  }
}

export function assertCallCodec(value: unknown): asserts value is CallCodec {
  if (value !== 'PCMU' && value !== 'PCMA') {
    throw new RangeError(`call codec must be 'PCMU' or 'PCMA', got ${String(value)}`);
  }
}

/** The leg format of a G.711 call codec (RTP legs, Twilio streams). */
export function codecFormat(codec: CallCodec): AudioFormat {
  return codec === 'PCMU' ? { encoding: 'pcmu' } : { encoding: 'pcma' };
}

/** The call codec a leg format is, or null for a PCM16 leg (a Vonage stream). */
export function legCodec(format: AudioFormat): CallCodec | null {
  return format.encoding === 'pcmu' ? 'PCMU' : format.encoding === 'pcma' ? 'PCMA' : null;
}

// The agent-side formats the native core converts to and from the call's G.711 (inbound and
// outbound audio): G.711 as is, PCM16 at 16 or 24 kHz. A narrowing of the one audio format
// (src/audio/audio-format.ts), and the names the native bindings take.
import { assertAudioFormat, formatName, type AudioFormat } from '../audio/audio-format.js';

/** Names the native bindings parse (native/ format enum). */
export type NativeFormatName = 'pcmu' | 'pcma' | 'pcm@16000' | 'pcm@24000';

/** Throws RangeError unless the native core converts this format. */
export function assertNativeAudioFormat(value: unknown): asserts value is AudioFormat {
  assertAudioFormat(value);
  if (value.encoding === 'pcm' && value.sampleRate !== 16000 && value.sampleRate !== 24000) {
    throw new RangeError(`pcm sampleRate must be 16000 or 24000, got ${String(value.sampleRate)}`);
  }
}

export function nativeFormatName(format: AudioFormat): NativeFormatName {
  assertNativeAudioFormat(format);
  return formatName(format) as NativeFormatName;
}

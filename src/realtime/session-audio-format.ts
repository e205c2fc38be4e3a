// The audio format as the realtime session JSON writes it (the type itself is the one audio
// format, src/audio/audio-format.ts).
//
// Wire shape (xAI voice guide "Audio Format" table; rate field as sent by Pipecat's xAI service):
//   { "type": "audio/pcmu" }               G.711 μ-law, 8000 Hz
//   { "type": "audio/pcma" }               G.711 A-law, 8000 Hz
//   { "type": "audio/pcm", "rate": 16000 } 16-bit little-endian PCM, 8000..48000 Hz (default 24000)
import { assertAudioFormat, type AudioFormat } from '../audio/audio-format.js';

/** The `format` object inside `session.audio.input` / `session.audio.output`. */
export type SessionAudioFormatJson =
  { type: 'audio/pcmu' } | { type: 'audio/pcma' } | { type: 'audio/pcm'; rate: number };

/** PCM rate the service assumes when `rate` is absent (xAI voice guide). */
export const defaultPcmSampleRate = 24000;

export function formatToSessionJson(format: AudioFormat): SessionAudioFormatJson {
  assertAudioFormat(format);
  if (format.encoding === 'pcm') return { type: 'audio/pcm', rate: format.sampleRate };
  return { type: `audio/${format.encoding}` };
}

/** Parses a session JSON format; throws RangeError/TypeError naming what is wrong. */
export function formatFromSessionJson(json: unknown): AudioFormat {
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
  const format = { encoding: 'pcm', sampleRate } as AudioFormat;
  assertAudioFormat(format);
  return format;
}

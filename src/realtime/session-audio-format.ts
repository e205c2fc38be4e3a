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

/** What a `session.updated` says about one direction's format. */
export type ConfirmedFormat =
  | { kind: 'format'; format: AudioFormat }
  /** Not said: absent, null, "not specified" (the live service's flat echo). */
  | { kind: 'unspecified' }
  /** Said in a form we cannot read: logged, and the format we asked for stands. */
  | { kind: 'unreadable'; value: unknown };

/** Flat names (OpenAI beta style; the live service's flat `session.updated` uses this field form). */
const flatNames: Readonly<Record<string, AudioFormat>> = {
  pcm16: { encoding: 'pcm', sampleRate: defaultPcmSampleRate },
  g711_ulaw: { encoding: 'pcmu' },
  g711_alaw: { encoding: 'pcma' },
  'audio/pcmu': { encoding: 'pcmu' },
  'audio/pcma': { encoding: 'pcma' },
};

/**
 * The format a `session.updated` confirms for `direction`: the nested `audio.<dir>.format`
 * object, else the flat `<dir>_audio_format` string (live: `"not specified"` when we sent only
 * the nested form — never a reason to change the call's format).
 */
export function confirmedFormat(
  session: Record<string, unknown>,
  direction: 'input' | 'output',
): ConfirmedFormat {
  const nested = (session.audio as Record<string, { format?: unknown } | undefined> | undefined)?.[direction]
    ?.format;
  if (nested !== undefined && nested !== null) {
    try {
      return { kind: 'format', format: formatFromSessionJson(nested) };
    } catch {
      return { kind: 'unreadable', value: nested };
    }
  }
  const flat = session[`${direction}_audio_format`];
  if (flat === undefined || flat === null) return { kind: 'unspecified' };
  if (typeof flat !== 'string') return { kind: 'unreadable', value: flat };
  const name = flat.trim().toLowerCase();
  if (name === '' || name === 'not specified') return { kind: 'unspecified' };
  const format = flatNames[name];
  return format === undefined ? { kind: 'unreadable', value: flat } : { kind: 'format', format };
}

// RIFF/WAVE files of 16-bit PCM: what `grok-sip call` plays and records, and the call recording's
// header. Anything else (float, 8-bit, compressed, extensible with a non-PCM subtype) is refused
// with a message saying what was found.
import { readFileSync, writeFileSync } from 'node:fs';

export interface PcmAudio {
  readonly sampleRate: number;
  readonly channels: number;
  /** Interleaved int16 little-endian samples. */
  readonly pcm: Buffer;
}

export class WavFormatError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'WavFormatError';
  }
}

const headerBytes = 44;

export function readWav(file: string): PcmAudio {
  const data = readFileSync(file);
  if (
    data.length < 12 ||
    data.toString('ascii', 0, 4) !== 'RIFF' ||
    data.toString('ascii', 8, 12) !== 'WAVE'
  ) {
    throw new WavFormatError(file, 'not a RIFF/WAVE file');
  }
  let format: { tag: number; channels: number; sampleRate: number; bits: number } | undefined;
  for (let at = 12; at + 8 <= data.length;) {
    const id = data.toString('ascii', at, at + 4);
    const size = data.readUInt32LE(at + 4);
    const body = data.subarray(at + 8, Math.min(data.length, at + 8 + size));
    if (id === 'fmt ' && body.length >= 16) {
      let tag = body.readUInt16LE(0);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the subtype GUID.
      if (tag === 0xfffe && body.length >= 26) tag = body.readUInt16LE(24);
      format = {
        tag,
        channels: body.readUInt16LE(2),
        sampleRate: body.readUInt32LE(4),
        bits: body.readUInt16LE(14),
      };
    } else if (id === 'data') {
      if (format === undefined) throw new WavFormatError(file, 'data chunk before the fmt chunk');
      if (format.tag !== 1 || format.bits !== 16) {
        throw new WavFormatError(
          file,
          `format ${format.tag} with ${format.bits}-bit samples; only 16-bit PCM (format 1) is read`,
        );
      }
      if (format.channels < 1) throw new WavFormatError(file, 'no channels');
      const whole = body.length - (body.length % (2 * format.channels));
      return {
        sampleRate: format.sampleRate,
        channels: format.channels,
        pcm: Buffer.from(body.subarray(0, whole)),
      };
    }
    at += 8 + size + (size % 2);
  }
  throw new WavFormatError(file, 'no data chunk');
}

/** The 44-byte header of a 16-bit PCM WAV holding `dataBytes` of samples. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(headerBytes);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

export const wavHeaderBytes = headerBytes;

export function writeWav(file: string, audio: PcmAudio): void {
  writeFileSync(
    file,
    Buffer.concat([wavHeader(audio.sampleRate, audio.channels, audio.pcm.length), audio.pcm]),
  );
}

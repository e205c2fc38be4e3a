// Optional stereo recording of a call: caller on the left channel, agent on the right, 8 kHz
// 16-bit PCM WAV, one sample pair per tick-aligned sample so the two sides stay in time.
// The caller side is what the agent received (after the jitter buffer and concealment); the
// agent side is what left on RTP (after barge-in cuts).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AudioFormat, CallCodec } from '../audio/audio-format.js';
import { decodeAlaw, decodeUlaw } from '../media/g711.js';
import { Resampler } from '../media/resampler.js';
import { wavHeader as pcmWavHeader, wavHeaderBytes as headerBytes } from '../media/wav-file.js';
import type { Logger } from '../observability/logger.js';

const sampleRate = 8000;
const frameSamples = 160;
/** Written in blocks of 1 s: 50 ticks × 640 bytes. */
const blockFrames = 50;
const silence = Buffer.alloc(frameSamples * 2);

export class CallRecording {
  readonly file: string;
  readonly #decodeCaller: (frame: Buffer) => Buffer;
  readonly #decodeAgent: (payload: Buffer) => Buffer;
  readonly #log: Logger;
  #fd: number | null = null;
  #dataBytes = 0;
  #block: Buffer[] = [];
  #caller: Buffer = silence;
  #agent: Buffer = silence;

  constructor(dir: string, callId: string, apiFormat: AudioFormat, codec: CallCodec, log: Logger) {
    const safeId = callId.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 200);
    this.file = path.join(dir, `${safeId}.wav`);
    this.#log = log;
    this.#decodeAgent = codec === 'PCMU' ? decodeUlaw : decodeAlaw;
    if (apiFormat.encoding === 'pcm') {
      const resampler = new Resampler(apiFormat.sampleRate as 16000 | 24000, sampleRate);
      this.#decodeCaller = (frame) => resampler.process(frame);
    } else {
      this.#decodeCaller = apiFormat.encoding === 'pcmu' ? decodeUlaw : decodeAlaw;
    }
    try {
      mkdirSync(dir, { recursive: true });
      this.#fd = openSync(this.file, 'w');
      writeSync(this.#fd, wavHeader(0));
    } catch (err) {
      this.#fail(err);
    }
  }

  /** The caller frame of this tick, in the API format. */
  caller(frame: Buffer): void {
    if (this.#fd !== null) this.#caller = this.#decodeCaller(frame);
  }

  /** The agent payload of this tick, in the call codec. */
  agent(payload: Buffer): void {
    if (this.#fd !== null) this.#agent = this.#decodeAgent(payload);
  }

  /** Closes the tick: one 20 ms stereo frame (silence on a side that had nothing). */
  endTick(): void {
    if (this.#fd === null) return;
    this.#block.push(interleave(this.#caller, this.#agent));
    this.#caller = silence;
    this.#agent = silence;
    if (this.#block.length >= blockFrames) this.#flush();
  }

  close(): void {
    if (this.#fd === null) return;
    this.#flush();
    try {
      writeSync(this.#fd, wavHeader(this.#dataBytes), 0, headerBytes, 0);
      closeSync(this.#fd);
    } catch (err) {
      this.#fail(err);
    }
    this.#fd = null;
  }

  #flush(): void {
    if (this.#fd === null || this.#block.length === 0) return;
    const bytes = Buffer.concat(this.#block);
    this.#block = [];
    try {
      writeSync(this.#fd, bytes, 0, bytes.length, headerBytes + this.#dataBytes);
      this.#dataBytes += bytes.length;
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    this.#log.warn(
      { err: err instanceof Error ? err.message : String(err), file: this.file },
      'recording stopped',
    );
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        // Already reported.
      }
    }
    this.#fd = null;
  }
}

/**
 * Two mono 20 ms frames → one stereo frame. 160 sample pairs per tick per recorded call: the
 * only sample loop in TypeScript, and only when recording is on (the native core has no
 * interleave yet).
 */
function interleave(left: Buffer, right: Buffer): Buffer {
  const out = Buffer.alloc(frameSamples * 4);
  for (let i = 0; i < frameSamples; i++) {
    // A resampled caller frame can be a sample short or long of 160: pad or cut.
    if (i * 2 + 1 < left.length) out.writeInt16LE(left.readInt16LE(i * 2), i * 4);
    if (i * 2 + 1 < right.length) out.writeInt16LE(right.readInt16LE(i * 2), i * 4 + 2);
  }
  return out;
}

const wavHeader = (dataBytes: number): Buffer => pcmWavHeader(sampleRate, 2, dataBytes);

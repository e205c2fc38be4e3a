// Optional stereo recording of a call: caller on the left channel, agent on the right, 8 kHz
// 16-bit PCM WAV, one sample pair per tick-aligned sample so the two sides stay in time.
// The caller side is what the agent received (after the jitter buffer and concealment); the
// agent side is what left on RTP (after barge-in cuts).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { codecFormat, type AudioFormat, type CallCodec } from '../audio/audio-format.js';
import { decodeAlaw, decodeUlaw } from '../media/g711.js';
import { Resampler } from '../media/resampler.js';
import { wavHeader as pcmWavHeader, wavHeaderBytes as headerBytes } from '../media/wav-file.js';
import { ignore } from '../observability/ignored-errors.js';
import type { Logger } from '../observability/logger.js';

const sampleRate = 8000;
const frameSamples = 160;
const stereoFrameBytes = frameSamples * 4;
/** Handed to the file in blocks of 1 s: 50 ticks × 640 bytes = 32,000 bytes, one write each. */
const blockFrames = 50;
const blockBytes = blockFrames * stereoFrameBytes;
const silence = Buffer.alloc(frameSamples * 2);

/**
 * The media tick only copies samples into a block in memory; the file is opened, written and
 * closed off the tick, one write in flight at a time (fs.promises on libuv's thread pool).
 * A full disk or a vanished directory stops this recording — logged once, never thrown into the
 * tick — and the call goes on.
 */
export class CallRecording {
  readonly file: string;
  readonly #decodeCaller: (frame: Buffer) => Buffer;
  readonly #decodeAgent: (payload: Buffer) => Buffer;
  readonly #log: Logger;
  #failed = false;
  #closing: Promise<void> | undefined;
  /** Every file operation, in order: open, then each block, then the header and close. */
  #writes: Promise<FileHandle | null>;
  #queuedBytes = 0;
  #block: Buffer = Buffer.allocUnsafe(blockBytes);
  #blockFrames = 0;
  /** Blocks whose write finished, reused so a recorded call allocates nothing per second. */
  readonly #spare: Buffer[] = [];
  #caller: Buffer = silence;
  #agent: Buffer = silence;

  /** `leg`: what the agent side frames are in (a call codec, or a leg format; PCM16 for Vonage). */
  constructor(
    dir: string,
    callId: string,
    apiFormat: AudioFormat,
    leg: CallCodec | AudioFormat,
    log: Logger,
  ) {
    const safeId = callId.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 200);
    const file = path.join(dir, `${safeId}.wav`);
    this.file = file;
    this.#log = log;
    const legFormat = typeof leg === 'string' ? codecFormat(leg) : leg;
    if (legFormat.encoding === 'pcm') {
      const resampler =
        legFormat.sampleRate === sampleRate
          ? null
          : new Resampler(legFormat.sampleRate as 16000 | 24000, sampleRate);
      this.#decodeAgent = (payload) => resampler?.process(payload) ?? payload;
    } else {
      this.#decodeAgent = legFormat.encoding === 'pcmu' ? decodeUlaw : decodeAlaw;
    }
    if (apiFormat.encoding === 'pcm') {
      const resampler =
        apiFormat.sampleRate === sampleRate
          ? null
          : new Resampler(apiFormat.sampleRate as 16000 | 24000, sampleRate);
      this.#decodeCaller = (frame) => resampler?.process(frame) ?? frame;
    } else {
      this.#decodeCaller = apiFormat.encoding === 'pcmu' ? decodeUlaw : decodeAlaw;
    }
    this.#writes = (async () => {
      await mkdir(dir, { recursive: true });
      const handle = await open(file, 'w');
      try {
        await handle.write(wavHeader(0), 0, headerBytes, 0);
      } catch (err) {
        await handle.close().catch(ignore('recording.close'));
        throw err;
      }
      return handle;
    })().catch((err: unknown) => this.#fail(err));
  }

  /** The caller frame of this tick, in the API format. */
  caller(frame: Buffer): void {
    if (!this.#failed) this.#caller = this.#decodeCaller(frame);
  }

  /** The agent payload of this tick, in the call codec. */
  agent(payload: Buffer): void {
    if (!this.#failed) this.#agent = this.#decodeAgent(payload);
  }

  /** Closes the tick: one 20 ms stereo frame (silence on a side that had nothing). */
  endTick(): void {
    if (this.#failed || this.#closing !== undefined) return;
    interleave(this.#caller, this.#agent, this.#block, this.#blockFrames * stereoFrameBytes);
    this.#caller = silence;
    this.#agent = silence;
    if (++this.#blockFrames >= blockFrames) this.#queueBlock();
  }

  /**
   * Writes what is buffered, patches the header with the data length and closes the file.
   * Resolves when it is on disk (or the recording failed, already logged); never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#queueBlock();
      const file = await this.#writes;
      if (file === null) return;
      try {
        await file.write(wavHeader(this.#queuedBytes), 0, headerBytes, 0);
        await file.close();
      } catch (err) {
        this.#fail(err);
        await file.close().catch(ignore('recording.close'));
      }
    })();
    return this.#closing;
  }

  /** Hands the frames so far to the file, at the offset after those queued before them. */
  #queueBlock(): void {
    if (this.#failed || this.#blockFrames === 0) return;
    const block = this.#block;
    const length = this.#blockFrames * stereoFrameBytes;
    const position = headerBytes + this.#queuedBytes;
    this.#queuedBytes += length;
    this.#block = this.#spare.pop() ?? Buffer.allocUnsafe(blockBytes);
    this.#blockFrames = 0;
    this.#writes = this.#writes.then(async (file) => {
      if (file === null) return null;
      try {
        await file.write(block, 0, length, position);
        this.#spare.push(block);
        return file;
      } catch (err) {
        this.#fail(err);
        await file.close().catch(ignore('recording.close'));
        return null;
      }
    });
  }

  #fail(err: unknown): null {
    if (!this.#failed) {
      this.#log.warn(
        { err: err instanceof Error ? err.message : String(err), file: this.file },
        'recording stopped',
      );
    }
    this.#failed = true;
    return null;
  }
}

/**
 * Two mono 20 ms frames → one stereo frame at `at` in `out`. 160 sample pairs per tick per
 * recorded call: the only sample loop in TypeScript, and only when recording is on (the native
 * core has no interleave yet).
 */
function interleave(left: Buffer, right: Buffer, out: Buffer, at: number): void {
  for (let i = 0; i < frameSamples; i++) {
    // A resampled caller frame can be a sample short or long of 160: pad with silence or cut.
    out.writeInt16LE(i * 2 + 1 < left.length ? left.readInt16LE(i * 2) : 0, at + i * 4);
    out.writeInt16LE(i * 2 + 1 < right.length ? right.readInt16LE(i * 2) : 0, at + i * 4 + 2);
  }
}

const wavHeader = (dataBytes: number): Buffer => pcmWavHeader(sampleRate, 2, dataBytes);

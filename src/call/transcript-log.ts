// Both sides of the conversation, one JSON line per final utterance (and per key press), in
// `<media.transcripts.dir>/<call id>.jsonl`. Append-only; a disk error is logged once and the
// call carries on without its transcript.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../observability/logger.js';

export interface TranscriptLine {
  readonly role: 'user' | 'agent' | 'dtmf' | 'event';
  readonly text: string;
  readonly itemId?: string;
}

export class TranscriptLog {
  readonly file: string;
  readonly #stream: WriteStream;
  readonly #startedAtMs = Date.now();
  #failed = false;

  constructor(dir: string, callId: string, log: Logger) {
    // Call-IDs are chosen by the caller: keep only file-name-safe characters.
    const safeId = callId.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 200);
    this.file = path.join(dir, `${safeId}.jsonl`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch {
      // The stream's error below reports it once.
    }
    this.#stream = createWriteStream(this.file, { flags: 'a' });
    this.#stream.on('error', (err) => {
      if (this.#failed) return;
      this.#failed = true;
      log.warn({ err: err.message, file: this.file }, 'transcript not written');
    });
  }

  write(line: TranscriptLine): void {
    if (this.#failed) return;
    const atMs = Date.now() - this.#startedAtMs;
    this.#stream.write(`${JSON.stringify({ at: new Date().toISOString(), atMs, ...line })}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}

// One call-detail record per call as one JSON line: a pino info line `{cdr}` on the given logger,
// and optionally appended to a JSONL file for billing/analytics pipelines that tail files. Append
// only (O_APPEND: concurrent writers and logrotate's copytruncate keep lines whole), one line per
// write so a crash loses at most the call that was being written.
import { appendFile } from 'node:fs/promises';
import type { CallDetailRecord } from './call-detail-record.js';
import { LogOnce, type Logger } from './logger.js';

export interface CallDetailLogOptions {
  readonly log: Logger;
  /** JSONL file CDRs are appended to; absent = log line only. The directory must exist. */
  readonly cdrFile?: string;
}

export class CallDetailLog {
  readonly #log: Logger;
  readonly #cdrFile: string | undefined;
  readonly #once = new LogOnce();
  /** Writes in call-end order; each waits for the one before. */
  #pending: Promise<void> = Promise.resolve();

  constructor(options: CallDetailLogOptions) {
    if (options.cdrFile !== undefined && (typeof options.cdrFile !== 'string' || options.cdrFile === '')) {
      throw new TypeError('cdrFile must be a non-empty path');
    }
    this.#log = options.log;
    this.#cdrFile = options.cdrFile;
  }

  /** Logs the record and queues its file line; never throws, file errors are logged once per error code. */
  write(record: CallDetailRecord): void {
    let line: string;
    try {
      line = `${JSON.stringify(record)}\n`;
    } catch (err) {
      if (this.#once.first('serialise'))
        this.#log.error({ err: (err as Error).message }, 'CDR not serialisable');
      return;
    }
    this.#log.info({ cdr: record }, 'cdr');
    const file = this.#cdrFile;
    if (file === undefined) return;
    this.#pending = this.#pending.then(() =>
      appendFile(file, line, { flag: 'a' }).catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
        if (this.#once.first(code)) {
          this.#log.error({ err: (err as Error).message, cdrFile: file }, 'cannot append CDR to the file');
        }
      }),
    );
  }

  /** Resolves when every queued line is written (or has failed). */
  flush(): Promise<void> {
    return this.#pending;
  }
}

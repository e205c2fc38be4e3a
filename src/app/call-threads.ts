// Calls sharded over worker threads (media.workers): the main thread keeps SIP, admission, the
// metrics and the CDR log; each call thread (call-thread.ts) runs whole calls with its own media
// clock, RTP sockets and realtime sockets, so media uses every core and one thread's stall (GC,
// a burst) delays only its share of calls. A new call goes to the thread with the fewest calls.
// A call thread that dies takes none of the process with it: its calls get a BYE (or 500) from
// here, a record with endReason internal-error, and a fresh thread takes its place.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { CallDetailRecord, CallObserver } from '../observability/call-detail-record.js';
import { ignoredErrors } from '../observability/ignored-errors.js';
import type { Logger } from '../observability/logger.js';
import type { ThreadHealth } from '../observability/metrics.js';
import { rejectedInputs, type InputKind } from '../observability/rejected-input.js';
import { callRecord, inboundParties } from '../call/call-record.js';
import { CallChannelHost } from '../signaling/call-channel.js';
import type { IncomingCall, ReferOutcome } from '../signaling/signaling-backend.js';
import type { CallThreadData, FromThread, ToThread } from './call-thread-protocol.js';
import { workerEntry } from './worker-entry.js';

/** A call as the app tracks it, wherever it runs. */
export interface RunningCall {
  readonly done: Promise<CallDetailRecord>;
  shutdown(): void;
  /** Hung up from the REST API or the library (end reason api-hangup once answered). */
  hangup?(): void;
  /** Blind transfer (REFER) from the REST API or the library. */
  transfer?(targetUri: string): Promise<ReferOutcome>;
}

export interface CallThreadStats {
  readonly name: string;
  readonly calls: number;
  /** As the thread last reported it (every second); undefined before its first report. */
  readonly health: ThreadHealth | undefined;
}

interface TrackedCall {
  readonly call: IncomingCall;
  readonly startedAt: Date;
  readonly startedAtMs: number;
  resolve(record: CallDetailRecord): void;
}

class CallThread {
  readonly name: string;
  readonly #data: CallThreadData;
  readonly #observer: CallObserver | undefined;
  readonly #log: Logger;
  readonly #calls = new Map<number, TrackedCall>();
  readonly #transfers = new Map<number, { resolve: (o: ReferOutcome) => void; reject: (e: Error) => void }>();
  #nextTransfer = 0;
  #worker!: Worker;
  #host!: CallChannelHost;
  #ready!: Promise<void>;
  #closing = false;
  #generation = 0;
  #onClosed: (() => void) | undefined;
  stats: CallThreadStats;

  constructor(data: CallThreadData, observer: CallObserver | undefined, log: Logger) {
    this.name = data.name;
    this.#data = data;
    this.#observer = observer;
    this.#log = log;
    this.stats = { name: data.name, calls: 0, health: undefined };
    this.#spawn();
  }

  get ready(): Promise<void> {
    return this.#ready;
  }

  get calls(): number {
    return this.#calls.size;
  }

  #spawn(): void {
    const generation = ++this.#generation;
    const counterName = `${this.name}#${generation}`;
    const worker = new Worker(workerEntry(import.meta.url, 'call-thread'), {
      workerData: this.#data,
      name: this.name,
    });
    this.#worker = worker;
    this.#host = new CallChannelHost((m) => worker.postMessage(m satisfies ToThread));
    const host = this.#host;
    this.#ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromThread) => {
        if (m.type === 'ready') return resolve();
        this.#onMessage(m, host, counterName);
      });
      worker.once('error', (err) => {
        reject(err);
        this.#log.error({ err: err.stack ?? err.message, thread: this.name }, 'call thread failed');
      });
      worker.once('exit', (code) => {
        reject(new Error(`call thread ${this.name} exited with code ${code} before it was ready`));
        this.#onExit(host, generation);
      });
    });
  }

  #onMessage(m: FromThread, host: CallChannelHost, counterName: string): void {
    switch (m.type) {
      case 'observer': {
        const { method, args } = m.event;
        try {
          (this.#observer?.[method] as ((...a: unknown[]) => void) | undefined)?.apply(this.#observer, args);
        } catch (err) {
          this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'call observer failed');
        }
        return;
      }
      case 'ended': {
        host.release(m.key);
        const tracked = this.#calls.get(m.key);
        this.#calls.delete(m.key);
        this.#observeEnded(m.record);
        tracked?.resolve(m.record);
        return;
      }
      case 'counters':
        rejectedInputs.setThreadTotals(counterName, m.rejected as [InputKind, number][]);
        ignoredErrors.setThreadTotals(counterName, m.ignored);
        this.stats = { name: this.name, calls: this.#calls.size, health: m.health };
        return;
      case 'closed':
        this.#onClosed?.();
        return;
      case 'transfer-result': {
        const pending = this.#transfers.get(m.id);
        this.#transfers.delete(m.id);
        if (m.outcome !== undefined) pending?.resolve(m.outcome);
        else pending?.reject(new Error(m.error ?? 'transfer failed'));
        return;
      }
      case 'ready':
        return;
      default:
        try {
          host.handle(m);
        } catch (err) {
          // A SIP action the call asked for failed at once (e.g. a reject after the call ended).
          ignoredErrors.record(`call-thread.${m.type}`, err);
        }
    }
  }

  /** The call thread's observer skips ended(): the record comes once, with 'ended', and is observed here. */
  #observeEnded(record: CallDetailRecord): void {
    try {
      this.#observer?.ended(record);
    } catch (err) {
      this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'call observer failed');
    }
  }

  /** The worker is gone: end its calls from here; respawn unless we are closing. */
  #onExit(host: CallChannelHost, generation: number): void {
    if (generation !== this.#generation) return;
    host.abandon();
    for (const pending of this.#transfers.values()) pending.reject(new Error('the call thread ended'));
    this.#transfers.clear();
    const orphans = [...this.#calls.values()];
    this.#calls.clear();
    if (orphans.length > 0 || !this.#closing) {
      this.#log.error({ thread: this.name, calls: orphans.length }, 'call thread ended; its calls are ended');
    }
    for (const t of orphans) {
      const record = callRecord(
        inboundParties(t.call, this.#data.config.sip.backend),
        undefined,
        500,
        'internal-error',
        { startedAt: t.startedAt, startedAtMs: t.startedAtMs, endedAtMs: performance.now() },
      );
      this.#observeEnded(record);
      t.resolve(record);
    }
    this.#onClosed?.();
    if (!this.#closing) this.#spawn();
  }

  start(key: number, call: IncomingCall): RunningCall {
    let resolve!: (record: CallDetailRecord) => void;
    const done = new Promise<CallDetailRecord>((r) => (resolve = r));
    const tracked: TrackedCall = { call, startedAt: new Date(), startedAtMs: performance.now(), resolve };
    this.#calls.set(key, tracked);
    this.#host.offer(key, call);
    return {
      done,
      shutdown: () => this.#worker.postMessage({ type: 'shutdown-call', key } satisfies ToThread),
      hangup: () => this.#worker.postMessage({ type: 'hangup-call', key } satisfies ToThread),
      transfer: (targetUri) =>
        new Promise<ReferOutcome>((resolve, reject) => {
          const id = this.#nextTransfer++;
          this.#transfers.set(id, { resolve, reject });
          this.#worker.postMessage({ type: 'transfer-call', key, id, targetUri } satisfies ToThread);
        }),
    };
  }

  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => (this.#onClosed = resolve));
    this.#worker.postMessage({ type: 'close' } satisfies ToThread);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.#worker.terminate();
  }

  /** Test hook: what a crash does. */
  async kill(): Promise<void> {
    await this.#worker.terminate();
  }
}

export interface CallThreadsOptions {
  readonly count: number;
  readonly data: (index: number) => Omit<CallThreadData, 'name'>;
  readonly observer?: CallObserver;
  readonly log: Logger;
}

export class CallThreads {
  readonly #threads: CallThread[];
  #nextKey = 1;
  #cursor = 0;

  private constructor(threads: CallThread[]) {
    this.#threads = threads;
  }

  static async start(options: CallThreadsOptions): Promise<CallThreads> {
    const threads: CallThread[] = [];
    for (let i = 0; i < options.count; i++) {
      threads.push(
        new CallThread({ name: `call-thread-${i + 1}`, ...options.data(i) }, options.observer, options.log),
      );
    }
    const pool = new CallThreads(threads);
    try {
      await Promise.all(threads.map((t) => t.ready));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get count(): number {
    return this.#threads.length;
  }

  /** Hands the call to the thread with the fewest calls (round robin among equals). */
  start(call: IncomingCall): RunningCall {
    let best = this.#threads[this.#cursor % this.#threads.length]!;
    for (let i = 1; i < this.#threads.length; i++) {
      const t = this.#threads[(this.#cursor + i) % this.#threads.length]!;
      if (t.calls < best.calls) best = t;
    }
    this.#cursor++;
    return best.start(this.#nextKey++, call);
  }

  stats(): CallThreadStats[] {
    return this.#threads.map((t) => ({ ...t.stats, calls: t.calls }));
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.close()));
  }

  /** Test hook: terminates one thread as a crash would. */
  async killThread(index: number): Promise<void> {
    await this.#threads[index]?.kill();
  }
}

// The built-in local agent in a worker thread of its own (`grok-sip start` without XAI_API_KEY,
// with call threads): at hundreds of calls the echo agent costs as much CPU as the calls
// themselves, and on the main thread it would delay SIP. Calls reach it by its ws:// URL as they
// would reach Grok. Tests that drive the agent step by step keep it in-process (app.localAgent).
import { Worker } from 'node:worker_threads';
import type { LocalAgentOptions } from '../realtime/index.js';
import { workerEntry } from './worker-entry.js';

/** What the main thread keeps of an agent running in its own thread. */
export interface LocalAgentThread {
  readonly url: string;
  close(): Promise<void>;
}

/** Options that cross to the thread: plain data only (no logger). */
export type LocalAgentThreadOptions = Omit<LocalAgentOptions, 'log'>;

export type FromLocalAgentThread = { type: 'ready'; url: string } | { type: 'closed' };
export type ToLocalAgentThread = { type: 'close' };

export async function startLocalAgentThread(options: LocalAgentThreadOptions): Promise<LocalAgentThread> {
  const worker = new Worker(workerEntry(import.meta.url, 'local-agent-thread-main'), {
    workerData: options,
    name: 'local-agent',
  });
  const url = await new Promise<string>((resolve, reject) => {
    worker.on('message', (m: FromLocalAgentThread) => {
      if (m.type === 'ready') resolve(m.url);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`local agent thread exited with code ${code}`)));
  });
  return {
    url,
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        worker.on('message', (m: FromLocalAgentThread) => {
          if (m.type === 'closed') resolve();
        });
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' } satisfies ToLocalAgentThread);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 3000).unref())]);
      await worker.terminate();
    },
  };
}

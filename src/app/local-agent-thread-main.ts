// Worker entry of the local agent thread (local-agent-thread.ts): starts the agent on 127.0.0.1,
// reports its URL, closes it when asked.
import { parentPort, workerData } from 'node:worker_threads';
import { startLocalAgent } from '../realtime/index.js';
import type {
  FromLocalAgentThread,
  LocalAgentThreadOptions,
  ToLocalAgentThread,
} from './local-agent-thread.js';

const port = parentPort;
if (port === null) throw new Error('local-agent-thread-main.ts runs only as a worker thread');
const options = workerData as LocalAgentThreadOptions;
const post = (m: FromLocalAgentThread): void => port.postMessage(m);
// Nobody reads the events an in-process test would assert on: keeping them would grow without end.
const agent = await startLocalAgent({
  host: '127.0.0.1',
  port: 0,
  mode: 'echo',
  recordClientEvents: false,
  ...options,
});
port.on('message', (m: ToLocalAgentThread) => {
  if (m.type !== 'close') return;
  void agent.close().finally(() => {
    post({ type: 'closed' });
    port.close();
  });
});
post({ type: 'ready', url: agent.url });

// An embedded endpoint alone in a process (for tests that read its log lines): answers nothing,
// listens on 127.0.0.1:<port> UDP, prints "ready", runs until killed.
import { EmbeddedBackend } from '../../../src/signaling/embedded/embedded-backend.js';

const port = Number(process.argv[2]);
const backend = new EmbeddedBackend({
  listen: [{ transport: 'udp', address: '127.0.0.1', port }],
  maxCalls: 10,
  retryAfterSec: 5,
  userAgent: 'grok-sip-test',
  registrations: [],
});
backend.onIncomingCall((call) => call.reject(486));
await backend.start();
console.log('ready');

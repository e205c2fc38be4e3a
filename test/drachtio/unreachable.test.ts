// drachtio-server unreachable at start (no binary needed): start() returns after its wait, the
// backend says it is not connected, the failure is logged once however often drachtio-srf
// retries, nothing throws, and stop() ends the retries.
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { DrachtioBackend } from '../../src/signaling/drachtio/index.js';

t.test('unreachable drachtio-server: alive, not connected, logged once', async (t) => {
  // A port that was free a moment ago: nothing listens there now.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));

  const lines: { msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as { msg: string });
      done();
    },
  });
  const backend = new DrachtioBackend({
    drachtio: { mode: 'inbound', host: '127.0.0.1', port, secret: 's', listenPort: 3000 },
    maxCalls: 1,
    retryAfterSec: 1,
    userAgent: 'test',
    registrations: [],
    connectWaitMs: 300,
    log: pino({ level: 'info' }, sink),
  });
  await backend.start();
  t.equal(backend.connected, false, 'not connected');
  // drachtio-srf keeps retrying meanwhile.
  await new Promise((r) => setTimeout(r, 3000));
  const unreachable = lines.filter((l) => /unreachable/.test(l.msg));
  t.equal(unreachable.length, 1, `the failure is logged once (${lines.length} lines in all)`);
  t.ok(
    lines.some((l) => /not reachable yet/.test(l.msg)),
    'start() said it goes on without the connection',
  );
  await backend.stop();
  t.equal(backend.connected, false);
});

// A half-open or stuck realtime socket is noticed and ends with its cause, and the session
// reconnects (issue 15 item 4): no pong to our ping, no frame at all, a server that stops reading.
import { once } from 'node:events';
import t from 'tap';
import { WebSocketServer, type WebSocket } from 'ws';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import type { RealtimeError } from '../../src/realtime/error-classification.js';
import type { RealtimeSessionConfig } from '../../src/realtime/session-config.js';

const session: RealtimeSessionConfig = {
  instructions: 'x',
  inputFormat: { encoding: 'pcmu' },
  outputFormat: { encoding: 'pcmu' },
};

/** A server that does the handshake, then `behave`s per connection. */
async function server(
  t: { teardown(fn: () => unknown): void },
  opts: { autoPong: boolean },
  behave: (ws: WebSocket, index: number) => void,
): Promise<{ url: string; connections: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: opts.autoPong });
  await once(wss, 'listening');
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  let count = 0;
  wss.on('connection', (ws) => {
    const index = count++;
    ws.send(JSON.stringify({ type: 'conversation.created' }));
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string };
      if (event.type === 'session.update') {
        ws.send(JSON.stringify({ type: 'session.updated', session: {} }));
        behave(ws, index);
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1/realtime`,
    connections: () => count,
  };
}

async function lostWith(
  s: Awaited<ReturnType<typeof connectRealtime>>,
  pattern: RegExp,
  ms = 5000,
): Promise<RealtimeError | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    s.on('error', (err) => {
      if (err.code === 'connection_lost' && pattern.test(err.message)) {
        clearTimeout(timer);
        resolve(err);
      }
    });
  });
}

t.test('no pong within the deadline: the socket ends and the session reconnects', async (t) => {
  const srv = await server(t, { autoPong: false }, () => undefined);
  const s = await connectRealtime({
    url: srv.url,
    session,
    reconnectDelayMs: 10,
    liveness: { pingIntervalMs: 150, pongTimeoutMs: 150, idleTimeoutMs: 0 },
  });
  t.teardown(() => s.close());
  const lost = await lostWith(s, /no pong within 150 ms/);
  t.ok(lost, `lost with its cause: ${lost?.message}`);
  await once(s, 'reconnected');
  t.equal(srv.connections(), 2, 'a new socket');
});

t.test('a server that answers pings keeps the session', async (t) => {
  const srv = await server(t, { autoPong: true }, () => undefined);
  const s = await connectRealtime({
    url: srv.url,
    session,
    liveness: { pingIntervalMs: 100, pongTimeoutMs: 100, idleTimeoutMs: 400 },
  });
  t.teardown(() => s.close());
  const errors: RealtimeError[] = [];
  s.on('error', (e) => errors.push(e));
  await new Promise((r) => setTimeout(r, 1000));
  t.same(errors, [], 'no loss: pongs keep it alive and count as frames for the idle check');
  t.equal(s.state, 'ready');
});

t.test('no frame at all for idleTimeout: the socket ends', async (t) => {
  const srv = await server(t, { autoPong: false }, () => undefined);
  const s = await connectRealtime({
    url: srv.url,
    session,
    reconnect: false,
    liveness: { pingIntervalMs: 0, idleTimeoutMs: 300 },
  });
  t.teardown(() => s.close());
  t.ok(await lostWith(s, /no frame from the server for 300 ms/), 'idle watchdog');
});

t.test('a server that stops reading: past ~2 s of audio unsent the socket is given up', async (t) => {
  const srv = await server(t, { autoPong: true }, (ws) => {
    // Stop reading: our appends pile up in the kernel, then in ws's buffer.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  });
  const s = await connectRealtime({
    url: srv.url,
    session,
    reconnect: false,
    liveness: { pingIntervalMs: 0, idleTimeoutMs: 0 },
  });
  t.teardown(() => s.close());
  const lost = lostWith(s, /stopped reading/, 20_000);
  const chunk = Buffer.alloc(8000, 0xff); // 1 s of G.711
  let sentMs = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 20; i++) {
      s.appendAudio(chunk);
      sentMs += 1000;
    }
  }, 10);
  const err = await lost;
  clearInterval(timer);
  t.ok(err, `given up: ${err?.message}`);
  t.comment(
    `audio appended before the socket was given up: ${(sentMs / 1000).toFixed(0)} s (loopback kernel buffers hold most)`,
  );
});

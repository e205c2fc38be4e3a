// A hostile or broken realtime server (a raw `ws` server on 127.0.0.1 that completes the
// handshake, then misbehaves), and a hostile client of the local agent. Each case must end in a
// defined outcome: the session goes on, or it closes with a reason that names the cause; the
// dropped frames are counted as rejected realtime input; memory stays bounded; nothing throws.
// Limits: src/realtime/socket-limits.ts; numbers measured here: docs/security-realtime.md.
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { MediaClock, mediaClock } from '../../src/media/media-clock.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import type { AudioFormat } from '../../src/audio/audio-format.js';
import { startLocalAgent } from '../../src/realtime/local-agent/local-agent-server.js';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import type {
  ConnectRealtimeOptions,
  RealtimeSession,
  RealtimeSessionEvents,
} from '../../src/realtime/realtime-session.js';
import { maxRealtimeFrameBytes } from '../../src/realtime/socket-limits.js';
import { StalledFrameWatch } from '../../src/realtime/stalled-frame-watch.js';
import { runSipp } from '../sip/support/run-peer.js';
import { appendIn20msChunks, speechBurst, watchUnhandledRejections } from './session-recorder.js';

const stopWatching = watchUnhandledRejections();
const format: AudioFormat = { encoding: 'pcmu' };
const tenMegabytes = 10 * 1024 * 1024;

interface HostileConnection {
  readonly index: number;
  readonly ws: WebSocket;
  /** The TCP socket under `ws`, for frames `ws` would never write. */
  readonly socket: Socket;
}

interface HostileServer {
  readonly url: string;
  /** Close codes our client sent (or 1006), per connection in order. */
  readonly closeCodes: number[];
  connections(): number;
}

/**
 * A realtime server that does the handshake (conversation.created, session.updated), then hands
 * the connection to `misbehave`.
 */
async function startHostileServer(
  t: Test,
  misbehave: (c: HostileConnection) => void,
  options: { perMessageDeflate?: boolean } = {},
): Promise<HostileServer> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: options.perMessageDeflate ?? false });
  const closeCodes: number[] = [];
  let accepted = 0;
  const sockets = new Set<Socket>();
  server.on('upgrade', (req, socket: Socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: HostileConnection = { index: accepted++, ws, socket };
      ws.on('error', () => undefined);
      ws.on('close', (code) => closeCodes.push(code));
      ws.on('message', (data) => {
        if (!String(data).includes('"session.update"')) return;
        ws.send(JSON.stringify({ type: 'session.updated', session: {} }), () => misbehave(connection));
      });
      ws.send(JSON.stringify({ type: 'conversation.created', conversation: { id: 'conv_1' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/v1/realtime`, closeCodes, connections: () => accepted };
}

async function connect(
  t: Test,
  url: string,
  options: Partial<ConnectRealtimeOptions> = {},
): Promise<RealtimeSession> {
  const session = await connectRealtime({
    url,
    session: { inputFormat: format, outputFormat: format },
    reconnectDelayMs: 10,
    ...options,
  });
  t.teardown(() => session.close());
  return session;
}

/** The session's 'closed' event; rejects after `timeoutMs` so a missing bound fails fast. */
function closedOf(session: RealtimeSession, timeoutMs = 5000): Promise<RealtimeSessionEvents['closed'][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`session still open after ${timeoutMs} ms`)), timeoutMs);
    session.once('closed', (closed) => {
      clearTimeout(timer);
      resolve(closed);
    });
  });
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** An unmasked server frame header (RFC 6455 §5.2) for a payload of `length` bytes. */
function frameHeader(fin: boolean, opcode: number, length: number): Buffer {
  const b0 = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([b0, length]);
  if (length < 65536) {
    const header = Buffer.from([b0, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = b0;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

interface Measured<T> {
  readonly result: T;
  readonly elapsedMs: number;
  /** CPU of this process (user + system) over the wall time, in % of one core. */
  readonly cpuPct: number;
  readonly heapBefore: number;
  readonly heapPeak: number;
  readonly heapAfter: number;
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}

/** Runs `work` (for at least `minMs`) and measures this process meanwhile. */
async function measure<T>(minMs: number, work: () => Promise<T>): Promise<Measured<T>> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  const before = process.memoryUsage();
  let heapPeak = before.heapUsed;
  let rssPeak = before.rss;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    heapPeak = Math.max(heapPeak, now.heapUsed);
    rssPeak = Math.max(rssPeak, now.rss);
  }, 50);
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const [result] = await Promise.all([work(), sleep(minMs)]);
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  clearInterval(sampler);
  const after = process.memoryUsage();
  return {
    result,
    elapsedMs,
    cpuPct: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
    heapBefore: before.heapUsed,
    heapPeak: Math.max(heapPeak, after.heapUsed),
    heapAfter: after.heapUsed,
    rssBefore: before.rss,
    rssPeak: Math.max(rssPeak, after.rss),
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  };
}

/**
 * The flooding server runs in its own process, so what this process spends is the client's
 * cost alone. Its first connection gets `rate` events/s for `floodMs` (unknown types, each one
 * different; valid but useless events; garbage), then, with `thenBig`, a 10 MB frame; every
 * later connection gets the 10 MB frame at once.
 */
const floodServerSource = String.raw`
const { WebSocketServer } = require('ws');
const cfg = JSON.parse(process.argv[1]);
const kinds = [];
for (let i = 0; i < 1000; i++) {
  kinds.push(
    JSON.stringify({ type: 'grok.flood.' + i, n: i }),
    JSON.stringify({ type: 'ping', timestamp: i }),
    JSON.stringify({ type: 'response.content_part.added', item_id: 'i' + i }),
    JSON.stringify({ type: 'input_audio_buffer.cleared' }),
    JSON.stringify({ type: 'response.output_audio_transcript.delta', item_id: 'i' + i, delta: 'la' }),
    JSON.stringify({ type: 'conversation.item.added', item: { id: 'i' + i, type: 'message' } }),
    JSON.stringify({ type: 'response.output_audio.delta', response_id: 'r', item_id: 'i' + (i % 10), delta: '//8=' }),
    '{not json ' + i,
    '[1,2,3]',
    JSON.stringify({ type: 'response.done' }),
  );
}
const big = cfg.thenBig
  ? JSON.stringify({ type: 'response.output_audio.delta', response_id: 'r', item_id: 'i', delta: 'A'.repeat(10 * 1024 * 1024) })
  : '';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => say({ port: wss.address().port }));
let connections = 0;
wss.on('connection', (ws) => {
  const index = connections++;
  ws.on('error', () => {});
  ws.on('close', (code) => say({ closed: index, code }));
  ws.on('message', (data) => {
    if (!String(data).includes('"session.update"')) return;
    ws.send(JSON.stringify({ type: 'session.updated', session: {} }), () => misbehave(ws, index));
  });
  ws.send(JSON.stringify({ type: 'conversation.created', conversation: { id: 'conv' } }));
});
function finish(ws, sent) {
  say({ flooded: sent });
  if (cfg.thenBig && ws.readyState === 1) ws.send(big);
}
function misbehave(ws, index) {
  if (index > 0 || cfg.floodMs === 0) return finish(ws, 0);
  const start = Date.now();
  let sent = 0;
  const timer = setInterval(() => {
    const elapsed = Date.now() - start;
    if (elapsed >= cfg.floodMs || ws.readyState !== 1) {
      clearInterval(timer);
      return finish(ws, sent);
    }
    const due = Math.floor((cfg.rate * elapsed) / 1000);
    while (sent < due) ws.send(kinds[sent++ % kinds.length]);
  }, 5);
}
`;

interface FloodServer {
  readonly url: string;
  /** Resolves when the first connection's flood is over. */
  readonly done: Promise<void>;
  sent(): number;
  /** Close codes the server saw, in order. */
  readonly closeCodes: number[];
}

async function startFloodServer(
  t: Test,
  cfg: { floodMs: number; rate: number; thenBig: boolean },
): Promise<FloodServer> {
  const child = spawn(process.execPath, ['-e', floodServerSource, JSON.stringify(cfg)], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let sent = 0;
  let floodDone = (): void => undefined;
  const closeCodes: number[] = [];
  const done = new Promise<void>((resolve) => (floodDone = resolve));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`flood server exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { port?: number; flooded?: number; code?: number };
      if (message.port !== undefined) resolve(message.port);
      if (message.flooded !== undefined && sent === 0) {
        sent = message.flooded;
        floodDone();
      }
      if (message.code !== undefined) closeCodes.push(message.code);
    });
  });
  return { url: `ws://127.0.0.1:${port}/v1/realtime`, done, sent: () => sent, closeCodes };
}

t.test('a 10 MB frame: refused with 1009 before it reaches the session', async (t) => {
  const delta = JSON.stringify({
    type: 'response.output_audio.delta',
    response_id: 'resp_1',
    item_id: 'item_1',
    delta: 'A'.repeat(tenMegabytes),
  });
  const server = await startHostileServer(t, (c) => c.ws.send(delta));

  // The control: the same frame reaches a client without our bound (ws's default is 100 MiB),
  // so what the session refuses below is refused by maxPayload, not lost on the way.
  const control = new WebSocket(server.url);
  control.on('error', () => undefined);
  const controlGot = await new Promise<number>((resolve) => {
    control.on('message', (data) => {
      if (String(data).includes('conversation.created'))
        control.send(JSON.stringify({ type: 'session.update', session: {} }));
      else if ((data as Buffer).length > tenMegabytes) resolve((data as Buffer).length);
    });
  });
  control.terminate();
  t.equal(controlGot, delta.length, 'a client with ws defaults accepts the 10 MB frame');

  const rejectedBefore = rejectedInputs.count('realtime');
  const heapBefore = process.memoryUsage().heapUsed;
  const session = await connect(t, server.url, { reconnect: false });
  let audioEvents = 0;
  session.on('audio', () => audioEvents++);
  session.on('error', () => undefined);
  const closed = await closedOf(session);
  t.match(closed, { reason: 'connection_lost', message: /Max payload size exceeded \(WS_ERR_UNSUPPORTED/ });
  t.equal(audioEvents, 0, 'the frame never reached the event handler');
  await waitFor('the server to see our close', () => server.closeCodes.length >= 2);
  t.equal(server.closeCodes.at(-1), 1009, 'we closed with 1009 (message too big)');
  t.equal(rejectedInputs.count('realtime') - rejectedBefore, 1, 'counted once as rejected realtime input');
  t.ok(maxRealtimeFrameBytes < tenMegabytes, `maxPayload ${maxRealtimeFrameBytes} bytes`);
  const heapAfter = process.memoryUsage().heapUsed;
  t.comment(`heap ${mb(heapBefore)} -> ${mb(heapAfter)} MB`);
});

t.test('a compressed 10 MB message (permessage-deflate): refused while inflating', async (t) => {
  const server = await startHostileServer(
    t,
    (c) => c.ws.send('{"type":"ping","x":"' + 'a'.repeat(tenMegabytes) + '"}'),
    {
      perMessageDeflate: true,
    },
  );
  const session = await connect(t, server.url, { reconnect: false });
  session.on('error', () => undefined);
  const closed = await closedOf(session);
  t.match(closed, { reason: 'connection_lost', message: /WS_ERR_UNSUPPORTED_MESSAGE_LENGTH/ });
  await waitFor('the server to see our close', () => server.closeCodes.length >= 1);
  t.equal(server.closeCodes[0], 1009);
});

t.test('invalid UTF-8 in a text frame: closed with 1007, the reconnect goes on', async (t) => {
  const server = await startHostileServer(t, (c) => {
    if (c.index === 0) c.socket.write(Buffer.concat([frameHeader(true, 1, 2), Buffer.from([0xc3, 0x28])]));
  });
  const rejectedBefore = rejectedInputs.count('realtime');
  const session = await connect(t, server.url);
  const errors: string[] = [];
  session.on('error', (e) => errors.push(e.message));
  await new Promise<void>((resolve) => session.once('reconnected', () => resolve()));
  t.match(errors, [/closed by us: refused a frame from the server: .*invalid UTF-8.*; reconnecting once/]);
  t.equal(server.closeCodes[0], 1007, 'we closed with 1007 (invalid frame payload data)');
  t.equal(rejectedInputs.count('realtime') - rejectedBefore, 1);
  t.equal(session.state, 'ready', 'the call goes on over the second socket');
});

t.test('a fragmented message that never ends: noticed, the session ends with the reason', async (t) => {
  // First fragment (FIN=0) of a text message, then only pings: ws keeps it to itself forever,
  // and a ping/pong liveness check would call the server alive.
  let pinger: NodeJS.Timeout | undefined;
  t.teardown(() => clearInterval(pinger));
  const server = await startHostileServer(t, (c) => {
    c.socket.write(Buffer.concat([frameHeader(false, 1, 5), Buffer.from('{"typ')]));
    pinger = setInterval(() => c.socket.write(frameHeader(true, 9, 0)), 50);
  });
  const rejectedBefore = rejectedInputs.count('realtime');
  const startedAt = performance.now();
  const session = await connect(t, server.url, { reconnect: false, frameStallMs: 400 });
  session.on('error', () => undefined);
  const closed = await closedOf(session);
  const tookMs = performance.now() - startedAt;
  t.match(closed, {
    reason: 'connection_lost',
    message: /closed by us: a frame from the server stayed incomplete for \d+ ms/,
  });
  t.ok(tookMs >= 400 && tookMs < 2000, `noticed after ${tookMs.toFixed(0)} ms (bound 400 ms)`);
  t.equal(rejectedInputs.count('realtime') - rejectedBefore, 1, 'counted: frame never completed');
});

t.test('a frame that announces more than it sends: noticed the same way', async (t) => {
  const server = await startHostileServer(t, (c) =>
    c.socket.write(Buffer.concat([frameHeader(true, 1, 1000), Buffer.from('{"type":"pi')])),
  );
  const session = await connect(t, server.url, { reconnect: false, frameStallMs: 300 });
  session.on('error', () => undefined);
  t.match(await closedOf(session), { reason: 'connection_lost', message: /stayed incomplete/ });
});

t.test('fragments that keep coming: bounded by maxPayload (1009), not by memory', async (t) => {
  const fragment = Buffer.alloc(64 * 1024, 0x61);
  let sentBytes = 0;
  const server = await startHostileServer(t, (c) => {
    c.socket.write(Buffer.concat([frameHeader(false, 1, 2), Buffer.from('{"')]));
    const more = (): void => {
      if (c.socket.destroyed || sentBytes > 2 * maxRealtimeFrameBytes) return;
      sentBytes += fragment.length;
      if (c.socket.write(Buffer.concat([frameHeader(false, 0, fragment.length), fragment])))
        setImmediate(more);
      else c.socket.once('drain', more);
    };
    more();
  });
  const session = await connect(t, server.url, { reconnect: false });
  session.on('error', () => undefined);
  t.match(await closedOf(session), {
    reason: 'connection_lost',
    message: /WS_ERR_UNSUPPORTED_MESSAGE_LENGTH/,
  });
  t.ok(sentBytes >= maxRealtimeFrameBytes, `refused after ${mb(sentBytes)} MB of fragments`);
});

t.test('a frame header announcing 1 GB: refused at the header', async (t) => {
  const server = await startHostileServer(t, (c) => c.socket.write(frameHeader(true, 1, 1024 ** 3)));
  const session = await connect(t, server.url, { reconnect: false });
  session.on('error', () => undefined);
  t.match(await closedOf(session), {
    reason: 'connection_lost',
    message: /WS_ERR_UNSUPPORTED_MESSAGE_LENGTH/,
  });
});

t.test('the frame watch follows frame boundaries however the bytes are split', async (t) => {
  const stalls: number[] = [];
  const watch = new StalledFrameWatch(1000, (ms) => stalls.push(ms));
  const masked = Buffer.concat([
    Buffer.from([0x81, 0x80 | 3]),
    Buffer.from([1, 2, 3, 4]),
    Buffer.from('abc'),
  ]);
  const medium = Buffer.concat([frameHeader(true, 1, 300), Buffer.alloc(300)]);
  const large = Buffer.concat([frameHeader(true, 2, 70_000), Buffer.alloc(70_000)]);
  const fragmented = Buffer.concat([
    frameHeader(false, 1, 3),
    Buffer.from('abc'),
    frameHeader(true, 9, 0), // a ping between the fragments
    frameHeader(true, 0, 2),
    Buffer.from('de'),
  ]);
  const all = Buffer.concat([masked, medium, large, fragmented]);
  for (let i = 0; i < all.length; i++) {
    watch.push(all.subarray(i, i + 1), 0);
    if (i === masked.length + medium.length + large.length + 5) t.ok(watch.incomplete, 'mid-message');
  }
  t.notOk(watch.incomplete, 'byte by byte: every frame and the message ended');
  watch.push(all, 0);
  t.notOk(watch.incomplete, 'in one chunk: the same');
  watch.push(frameHeader(false, 1, 3), 0);
  watch.push(Buffer.from('abc'), 0);
  t.ok(watch.incomplete, 'a first fragment alone leaves the message open');
  watch.stop();
  t.same(stalls, []);
});

t.test(
  '10,000 events/s for 3 s: the session goes on, memory bounded, clock and others unaffected',
  async (t) => {
    const floodMs = 3000;
    const flood = await startFloodServer(t, { floodMs, rate: 10_000, thenBig: false });

    // The other call: a healthy session on the local agent, echoing turns before and during.
    const agent = await startLocalAgent({ mode: 'echo' });
    t.teardown(() => agent.close());
    const other = await connect(t, agent.url, {
      session: {
        inputFormat: format,
        outputFormat: format,
        turnDetection: { prefixPaddingMs: 0, silenceDurationMs: 200 },
      },
    });
    const turnMs = async (): Promise<number> => {
      const start = performance.now();
      const done = new Promise<void>((resolve) => {
        other.once('response_started', ({ responseId }) => {
          const onDone = (d: { responseId: string }): void => {
            if (d.responseId !== responseId) return;
            other.off('response_done', onDone);
            resolve();
          };
          other.on('response_done', onDone);
        });
      });
      appendIn20msChunks(other, speechBurst(format, 100, 300, 300), 160);
      await done;
      return performance.now() - start;
    };
    const turnsEvery = async (count: number, everyMs: number): Promise<number[]> => {
      const turns: number[] = [];
      for (let i = 0; i < count; i++) {
        await sleep(everyMs / 2);
        turns.push(await turnMs());
        await sleep(everyMs / 2);
      }
      return turns;
    };

    // The same measurements over a quiet second first, to compare with.
    const clock = new MediaClock();
    let ticks = 0;
    const unsubscribe = clock.subscribe({ tick: () => ticks++ });
    t.teardown(unsubscribe);
    const quietClock = clock.stats;
    const quiet = await measure(1000, () => turnsEvery(2, 500));
    const ticksBefore = ticks;
    const clockBefore = clock.stats;

    const rejectedBefore = rejectedInputs.count('realtime');
    const session = await connect(t, flood.url, { frameStallMs: 1000 });
    let emitted = 0;
    for (const name of ['audio', 'transcript', 'speech_started', 'error', 'closed'] as const)
      session.on(name, () => emitted++);
    const loud = await measure(floodMs, async () => {
      const turns = await turnsEvery(3, 900);
      await flood.done;
      await waitFor('the session to read the whole flood', () => {
        const s = session.stats;
        return s.eventsIn + s.unknownEvents + s.malformedEvents >= flood.sent();
      });
      return turns;
    });
    const clockAfter = clock.stats;

    const sent = flood.sent();
    const stats = session.stats;
    const handled = stats.eventsIn + stats.unknownEvents + stats.malformedEvents;
    const late = (a: typeof clockAfter, b: typeof clockAfter): string =>
      `${a.ticks - b.ticks} ticks, ${a.lateTicks - b.lateTicks} late, ${a.skippedTicks - b.skippedTicks} skipped`;
    t.comment(
      `${sent} events in ${loud.elapsedMs.toFixed(0)} ms = ${((handled / loud.elapsedMs) * 1000).toFixed(0)} events/s handled ` +
        `(server in a child process); ` +
        `CPU ${loud.cpuPct.toFixed(1)} % of one core (quiet ${quiet.cpuPct.toFixed(1)} %); ` +
        `heap ${mb(loud.heapBefore)} -> peak ${mb(loud.heapPeak)} -> ${mb(loud.heapAfter)} MB; ` +
        `rss ${mb(loud.rssBefore)} -> peak ${mb(loud.rssPeak)} MB; ` +
        `event loop delay p99 ${loud.loopP99Ms.toFixed(1)} ms, max ${loud.loopMaxMs.toFixed(1)} ms ` +
        `(quiet ${quiet.loopP99Ms.toFixed(1)} / ${quiet.loopMaxMs.toFixed(1)} ms); ` +
        `media clock ${late(clockAfter, clockBefore)} (quiet ${late(clockBefore, quietClock)}); ` +
        `other call's echo turn ${quiet.result.map((ms) => ms.toFixed(0)).join()} ms quiet, ` +
        `${loud.result.map((ms) => ms.toFixed(0)).join()} ms during the flood`,
    );
    t.ok(sent >= 28_000, `the server sent ${sent} events in ${floodMs} ms`);
    t.equal(handled, sent, 'every frame was read and either used or dropped');
    t.equal(session.state, 'ready', 'the flooded session goes on: nothing in the flood ends it');
    t.equal(stats.reconnects, 0, 'no reconnect: the frame watch saw no stall in the flood');
    t.ok(emitted > 0, 'the valid events were emitted');
    t.equal(
      rejectedInputs.count('realtime') - rejectedBefore,
      stats.unknownEvents + stats.malformedEvents,
      'every unknown or malformed frame counted as rejected realtime input',
    );
    t.ok(
      loud.heapPeak - loud.heapBefore < 64 * 1024 * 1024,
      `heap grew by at most 64 MB (${mb(loud.heapPeak - loud.heapBefore)})`,
    );
    t.ok(
      loud.rssPeak - loud.rssBefore < 128 * 1024 * 1024,
      `rss grew by at most 128 MB (${mb(loud.rssPeak - loud.rssBefore)})`,
    );
    const expectedTicks = loud.elapsedMs / clock.periodMs;
    t.ok(
      ticks - ticksBefore >= expectedTicks * 0.9,
      `the media clock kept ticking: ${ticks - ticksBefore} of ${expectedTicks.toFixed(0)} ticks`,
    );
    const slowest = Math.max(...loud.result);
    t.ok(
      slowest < Math.max(...quiet.result) + 500,
      `the other call's echo turns took at most ${slowest.toFixed(0)} ms during the flood`,
    );
  },
);

t.test('a flood of function calls: only a burst and then a trickle reach the tools', async (t) => {
  const server = await startHostileServer(t, (c) => {
    for (let i = 0; i < 1000; i++) {
      c.ws.send(
        JSON.stringify({
          type: 'response.function_call_arguments.done',
          call_id: `call_${i}`,
          name: 'webhook',
          arguments: '{}',
        }),
      );
    }
  });
  const session = await connect(t, server.url);
  let calls = 0;
  session.on('function_call', () => calls++);
  const startedAt = performance.now();
  await waitFor('the flood', () => calls + session.stats.droppedFunctionCalls >= 1000);
  const elapsedS = (performance.now() - startedAt) / 1000;
  t.ok(calls >= 20 && calls <= 20 + Math.ceil(elapsedS * 5) + 1, `${calls} of 1000 passed on`);
  t.equal(session.stats.droppedFunctionCalls, 1000 - calls);
  t.equal(session.state, 'ready');
});

t.test('a server that stops reading: the socket is given up, not buffered without bound', async (t) => {
  const server = await startHostileServer(t, (c) => c.socket.pause());
  const session = await connect(t, server.url, { reconnect: false });
  session.on('error', () => undefined);
  const closed = closedOf(session, 20_000);
  let gaveUp = false;
  void closed.then(
    () => (gaveUp = true),
    () => undefined,
  );
  const chunk = Buffer.alloc(64 * 1024, 0xff); // 8 s of PCMU per append
  let appended = 0;
  for (let i = 0; i < 2000 && !gaveUp; i++) {
    if (session.appendAudio(chunk) === 'sent') appended += chunk.length;
    await sleep(1);
  }
  t.match(await closed, {
    reason: 'connection_lost',
    message: /the server stopped reading \(\d+ bytes unsent, over 2000 ms of audio\)/,
  });
  t.comment(`gave up after ${mb(appended)} MB of audio appended (kernel buffers hold the rest)`);
  t.ok(server.connections() === 1);
});

t.test('the local agent against a hostile client', async (t) => {
  const agent = await startLocalAgent({ mode: 'echo' });
  t.teardown(() => agent.close());
  const rejectedBefore = rejectedInputs.count('realtime');

  const rawClient = async (): Promise<{ ws: WebSocket; socket: Socket; events: string[] }> => {
    const ws = new WebSocket(agent.url);
    const events: string[] = [];
    ws.on('error', () => undefined);
    ws.on('message', (data) => events.push(String(data)));
    let socket: Socket | undefined;
    ws.on('upgrade', (res) => (socket = res.socket as Socket));
    await new Promise((resolve) => ws.once('open', resolve));
    return { ws, socket: socket!, events };
  };
  const closeCode = (ws: WebSocket): Promise<number> =>
    new Promise((resolve) => ws.once('close', (code) => resolve(code)));

  const big = await rawClient();
  const bigClosed = closeCode(big.ws);
  big.ws.send('x'.repeat(tenMegabytes));
  t.equal(await bigClosed, 1009, 'a 10 MB client frame: the agent closes with 1009');

  const utf8 = await rawClient();
  const utf8Closed = closeCode(utf8.ws);
  // A masked client frame (RFC 6455 §5.3): mask 0 leaves the payload as is.
  utf8.socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]));
  t.equal(await utf8Closed, 1007, 'invalid UTF-8: the agent closes with 1007');

  const garbage = await rawClient();
  garbage.ws.send('{not json');
  garbage.ws.send(Buffer.from([1, 2, 3]));
  garbage.ws.send('{"type":"input_audio_buffer.append","audio":42}');
  await waitFor('three error events', () => garbage.events.filter((e) => e.includes('"error"')).length >= 3);
  t.equal(garbage.ws.readyState, WebSocket.OPEN, 'bad JSON and bad events: answered, connection kept');
  garbage.ws.close();

  t.equal(
    rejectedInputs.count('realtime') - rejectedBefore,
    5,
    '1009, 1007 and three dropped frames counted',
  );
  const session = await connect(t, agent.url);
  t.equal(session.state, 'ready', 'the agent still serves a well-behaved client');
});

t.test('a call whose agent floods, then sends 10 MB frames: beeps, BYE, CDR agent-failed', async (t) => {
  const sipPort = 18700;
  const flood = await startFloodServer(t, { floodMs: 2000, rate: 10_000, thenBig: true });
  const config = parseConfig(
    `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
media: { rtpAddress: 127.0.0.1, portMin: 28600, portMax: 28649 }
realtime: { url: '${flood.url}' }
agents:
  default: assistant
  profiles: [{ name: assistant, instructions: Help the caller. }]
`,
    { XAI_API_KEY: 'not-a-real-key' },
  );
  const app = await startGrokSip(config);
  t.teardown(() => app.stop());
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (record) => records.push(record));
  const rejectedBefore = rejectedInputs.count('realtime');
  const clockBefore = mediaClock.stats;

  const call = await measure(0, () =>
    runSipp(
      t,
      `127.0.0.1:${sipPort}`,
      ['-sf', path.resolve('sip-config/sipp/uac_recv_bye.xml'), '-s', '4000'].concat([
        '-p',
        '28705',
        '-mp',
        '28700',
        '-m',
        '1',
      ]),
      { timeoutSec: 20 },
    ),
  );
  t.equal(call.result.code, 0, `SIPp received our BYE${call.result.code ? `: ${call.result.errors}` : ''}`);
  const record = records.at(-1);
  t.equal(record?.endReason, 'agent-failed', 'the CDR names the cause: the agent failed');
  t.ok(
    (record?.media?.packetsOut ?? 0) >= 55,
    `the fallback beeps played: ${record?.media?.packetsOut} packets`,
  );
  await waitFor('both sockets closed', () => flood.closeCodes.length >= 2);
  t.same(flood.closeCodes, [1009, 1009], 'flood then 10 MB, reconnect, 10 MB again: both refused');
  t.ok(
    // 4 in 10 of the flood are unknown or malformed, plus the two refused frames.
    rejectedInputs.count('realtime') - rejectedBefore >= Math.floor(flood.sent() * 0.4) + 2,
    `${rejectedInputs.count('realtime') - rejectedBefore} rejected realtime inputs counted`,
  );
  t.equal(app.activeCalls(), 0);
  t.comment(
    `call of ${(call.elapsedMs / 1000).toFixed(1)} s with ${flood.sent()} flood events: ` +
      `CPU ${call.cpuPct.toFixed(1)} %, heap ${mb(call.heapBefore)} -> peak ${mb(call.heapPeak)} MB, ` +
      `event loop delay p99 ${call.loopP99Ms.toFixed(1)} ms, max ${call.loopMaxMs.toFixed(1)} ms; ` +
      `media clock ${mediaClock.stats.ticks - clockBefore.ticks} ticks, ` +
      `${mediaClock.stats.lateTicks - clockBefore.lateTicks} late, ` +
      `${mediaClock.stats.skippedTicks - clockBefore.skippedTicks} skipped`,
  );
});

t.test('no unhandled rejection while this file ran', async (t) => {
  t.same(stopWatching(), []);
});

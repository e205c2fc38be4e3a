// The handshake against the local agent over a real socket: every audio format negotiated,
// the API key checked, and each way a handshake can fail ends in a clear error with the socket
// closed.
import t from 'tap';
import { createServer } from 'node:net';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import { RealtimeConnectError } from '../../src/realtime/error-classification.js';
import { startLocalAgent } from '../../src/realtime/local-agent/local-agent-server.js';
import { formatName, type AudioFormat } from '../../src/audio/audio-format.js';
import { formatToSessionJson } from '../../src/realtime/session-audio-format.js';
import { sessionConfigToJson, type RealtimeSessionConfig } from '../../src/realtime/session-config.js';
import { watchUnhandledRejections } from './session-recorder.js';

const stopWatching = watchUnhandledRejections();

const formats: AudioFormat[] = [
  { encoding: 'pcmu' },
  { encoding: 'pcma' },
  { encoding: 'pcm', sampleRate: 8000 },
  { encoding: 'pcm', sampleRate: 16000 },
  { encoding: 'pcm', sampleRate: 24000 },
  { encoding: 'pcm', sampleRate: 48000 },
];

function config(inputFormat: AudioFormat, outputFormat = inputFormat): RealtimeSessionConfig {
  return {
    voice: 'Rex',
    instructions: 'Be brief.',
    turnDetection: { silenceDurationMs: 400, prefixPaddingMs: 200, threshold: 0.5 },
    inputFormat,
    outputFormat,
    tools: [
      { type: 'web_search' },
      { type: 'x_search' },
      { type: 'file_search', vectorStoreIds: ['coll_1'] },
      { type: 'function', name: 'hangup', description: 'End the call', parameters: { type: 'object' } },
    ],
  };
}

async function expectConnectError(promise: Promise<unknown>, code: string): Promise<RealtimeConnectError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RealtimeConnectError && err.code === code) return err;
    throw new Error(`expected RealtimeConnectError ${code}, got ${String(err)}`, { cause: err });
  }
  throw new Error(`expected RealtimeConnectError ${code}, but it connected`);
}

t.test('session JSON for each format follows the wire shape', async (t) => {
  t.same(formatToSessionJson({ encoding: 'pcmu' }), { type: 'audio/pcmu' });
  t.same(formatToSessionJson({ encoding: 'pcma' }), { type: 'audio/pcma' });
  t.same(formatToSessionJson({ encoding: 'pcm', sampleRate: 16000 }), { type: 'audio/pcm', rate: 16000 });
  t.throws(() => formatToSessionJson({ encoding: 'pcm', sampleRate: 7999 }), RangeError);
  t.throws(() => formatToSessionJson({ encoding: 'opus' } as never), RangeError);
  t.same(sessionConfigToJson(config({ encoding: 'pcmu' })), {
    voice: 'Rex',
    instructions: 'Be brief.',
    turn_detection: { type: 'server_vad', threshold: 0.5, silence_duration_ms: 400, prefix_padding_ms: 200 },
    audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } },
    tools: [
      { type: 'web_search' },
      { type: 'x_search' },
      { type: 'file_search', vector_store_ids: ['coll_1'] },
      { type: 'function', name: 'hangup', description: 'End the call', parameters: { type: 'object' } },
    ],
  });
  t.throws(
    () => sessionConfigToJson({ ...config({ encoding: 'pcmu' }), voice: 'alloy' as never }),
    RangeError,
  );
});

t.test('each format is negotiated, and session.update precedes any audio', async (t) => {
  const agent = await startLocalAgent();
  t.teardown(() => agent.close());
  for (const format of formats) {
    const before = agent.received.length;
    const session = await connectRealtime({ url: agent.url, model: 'grok-test', session: config(format) });
    t.same(session.inputFormat, format, `${formatName(format)} input as reported by session.updated`);
    t.same(session.outputFormat, format, `${formatName(format)} output`);
    session.appendAudio(
      Buffer.alloc(format.encoding === 'pcm' ? 320 : 160, format.encoding === 'pcm' ? 0 : 0xff),
    );
    await session.close();
    const sent = agent.received.slice(before).map((r) => r.event);
    t.equal(sent[0]?.type, 'session.update', 'first client event is session.update');
    t.same(
      sent[0]?.type === 'session.update' ? sent[0].session.audio?.input?.format : null,
      formatToSessionJson(format),
    );
    t.equal(sent[1]?.type, 'input_audio_buffer.append', 'audio only after the handshake');
  }
  await agent.whenNoConnections();
  t.equal(agent.openConnections(), 0);
});

t.test('input and output formats may differ', async (t) => {
  const agent = await startLocalAgent();
  t.teardown(() => agent.close());
  const session = await connectRealtime({
    url: agent.url,
    session: config({ encoding: 'pcmu' }, { encoding: 'pcm', sampleRate: 24000 }),
  });
  t.same(session.inputFormat, { encoding: 'pcmu' });
  t.same(session.outputFormat, { encoding: 'pcm', sampleRate: 24000 });
  await session.close();
});

t.test('the API key goes in the Authorization header; a wrong one is refused clearly', async (t) => {
  const agent = await startLocalAgent({ apiKey: 'xai-test-key' });
  t.teardown(() => agent.close());
  const session = await connectRealtime({
    url: agent.url,
    apiKey: 'xai-test-key',
    session: config({ encoding: 'pcmu' }),
  });
  await session.close();
  const err = await expectConnectError(
    connectRealtime({ url: agent.url, apiKey: 'wrong', session: config({ encoding: 'pcmu' }) }),
    'unauthorized',
  );
  t.match(err.message, /HTTP 401/);
  t.notMatch(err.message, /wrong/, 'the key never appears in the error');
  await expectConnectError(
    connectRealtime({ url: agent.url, session: config({ encoding: 'pcmu' }) }),
    'unauthorized',
  );
});

t.test('a server that sends no greeting still gets session.update after the grace period', async (t) => {
  const agent = await startLocalAgent({ mode: 'scripted', script: { handshake: 'no-greeting' } });
  t.teardown(() => agent.close());
  const session = await connectRealtime({
    url: agent.url,
    greetingGraceMs: 50,
    session: config({ encoding: 'pcma' }),
  });
  t.equal(session.state, 'ready');
  await session.close();
});

for (const mode of ['stall', 'greeting-only'] as const) {
  t.test(
    `a server that never finishes the handshake (${mode}) → handshake_timeout, socket closed`,
    async (t) => {
      const agent = await startLocalAgent({ mode: 'scripted', script: { handshake: mode } });
      t.teardown(() => agent.close());
      const err = await expectConnectError(
        connectRealtime({ url: agent.url, handshakeTimeoutMs: 300, session: config({ encoding: 'pcmu' }) }),
        'handshake_timeout',
      );
      t.match(err.message, mode === 'stall' ? /conversation\.created/ : /session\.updated/, err.message);
      t.equal(agent.connectionsAccepted(), 1);
      await agent.whenNoConnections();
      t.pass('the server saw the socket closed');
    },
  );
}

t.test('a server that accepts TCP but never upgrades → handshake_timeout', async (t) => {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read the HTTP upgrade request and never answer it; EOF shows as 'close'
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as import('node:net').AddressInfo).port;
  await expectConnectError(
    connectRealtime({
      url: `ws://127.0.0.1:${port}/`,
      handshakeTimeoutMs: 300,
      session: config({ encoding: 'pcmu' }),
    }),
    'handshake_timeout',
  );
  while (sockets.size > 0) await new Promise((r) => setTimeout(r, 10));
  t.pass('the TCP connection was closed');
});

t.test('nothing listening → connect_failed; bad URL or config → rejected before connecting', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await expectConnectError(
    connectRealtime({ url: `ws://127.0.0.1:${port}/`, session: config({ encoding: 'pcmu' }) }),
    'connect_failed',
  );
  await expectConnectError(
    connectRealtime({ url: 'not a url', session: config({ encoding: 'pcmu' }) }),
    'invalid_url',
  );
  await expectConnectError(
    connectRealtime({ url: 'http://127.0.0.1:1/', session: config({ encoding: 'pcmu' }) }),
    'invalid_url',
  );
  await expectConnectError(
    connectRealtime({ url: 'ws://127.0.0.1:1/', session: config({ encoding: 'pcm', sampleRate: 100 }) }),
    'invalid_config',
  );
  t.pass();
});

t.test('no unhandled rejection while this file ran', async (t) => {
  t.same(stopWatching(), []);
});

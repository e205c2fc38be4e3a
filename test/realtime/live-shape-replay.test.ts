// The realtime client against event streams shaped like the live Grok service (docs/realtime.md
// "What later evidence showed"): a raw WebSocket server replays them, so each shape is exactly
// what the evidence shows, not what our own local agent happens to send. Flat session.updated,
// a server that confirms another format, caller transcripts as `.updated` wholes and repeated
// `.completed`, usage in response.done, errors with null fields, and a session the service ends
// (max_duration) with the call going on in a new one seeded with the conversation.
import { once } from 'node:events';
import t from 'tap';
import { WebSocketServer, type WebSocket } from 'ws';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import { RealtimeConnectError } from '../../src/realtime/error-classification.js';
import type {
  RealtimeSession,
  RealtimeSessionEvents,
  RealtimeTranscriptEvent,
} from '../../src/realtime/realtime-session.js';
import type { RealtimeSessionConfig } from '../../src/realtime/session-config.js';

interface Server {
  url: string;
  /** Each connection's handler; the n-th connection gets `scripts[n]`. */
  connections: { ws: WebSocket; received: Record<string, unknown>[] }[];
}

type Script = (ws: WebSocket, received: Record<string, unknown>[]) => void | Promise<void>;

/** A server that greets as the live service does, then answers session.update per `flatUpdate`. */
async function liveShapedServer(
  t: { teardown(fn: () => unknown): void },
  scripts: Script[],
  sessionUpdated: (update: Record<string, unknown>) => Record<string, unknown> = flatEcho,
): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const server: Server = {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1/realtime`,
    connections: [],
  };
  wss.on('connection', (ws) => {
    const received: Record<string, unknown>[] = [];
    const index = server.connections.push({ ws, received }) - 1;
    const send = (event: Record<string, unknown>): void => ws.send(JSON.stringify(event));
    // Live order: session.created → conversation.created → ping {timestamp}.
    send({ type: 'session.created', event_id: 'e1', session: { id: `sess_${index}` } });
    send({ type: 'conversation.created', event_id: 'e2', conversation: { id: `conv_${index}` } });
    send({ type: 'ping', timestamp: Date.now() });
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as Record<string, unknown>;
      received.push(event);
      if (event.type === 'session.update') {
        send({ type: 'session.updated', session: sessionUpdated(event.session as Record<string, unknown>) });
        void scripts[index]?.(ws, received);
      }
    });
  });
  return server;
}

/** The live service's flat echo: formats as strings, "not specified" for the nested form we send. */
function flatEcho(update: Record<string, unknown>): Record<string, unknown> {
  return {
    instructions: update.instructions,
    voice: 'xai_ara',
    model: 'grok-voice-think-fast-2.0',
    input_audio_format: 'not specified',
    output_audio_format: 'not specified',
    turn_detection: {},
    input_audio_transcription: null,
    keep_context: true,
    enable_noise_suppression: true,
    temperature: 0.8,
  };
}

const session: RealtimeSessionConfig = {
  voice: 'Ara',
  instructions: 'You answer the phone.',
  inputFormat: { encoding: 'pcmu' },
  outputFormat: { encoding: 'pcmu' },
  transcription: { model: 'grok-transcribe' },
};

function record<K extends keyof RealtimeSessionEvents>(
  s: RealtimeSession,
  name: K,
): RealtimeSessionEvents[K][0][] {
  const seen: RealtimeSessionEvents[K][0][] = [];
  (s.on as (n: K, l: (...a: RealtimeSessionEvents[K]) => void) => void)(name, (...args) =>
    seen.push(args[0]),
  );
  return seen;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

t.test('a flat session.updated ("not specified") keeps the formats we asked for', async (t) => {
  const server = await liveShapedServer(t, []);
  const s = await connectRealtime({ url: server.url, session, reconnect: false });
  t.teardown(() => s.close());
  t.same(s.inputFormat, { encoding: 'pcmu' });
  t.same(s.outputFormat, { encoding: 'pcmu' });
  const update = server.connections[0]!.received.find((e) => e.type === 'session.update') as {
    session: { audio: { input: { transcription?: unknown } } };
  };
  t.same(update.session.audio.input.transcription, { model: 'grok-transcribe' }, 'transcription asked for');
});

t.test('a server that confirms another format: the session fails with format_mismatch', async (t) => {
  const server = await liveShapedServer(t, [], () => ({
    audio: {
      input: { format: { type: 'audio/pcm', rate: 16000 } },
      output: { format: { type: 'audio/pcmu' } },
    },
  }));
  const err = await connectRealtime({ url: server.url, session, reconnect: false }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(
    err instanceof RealtimeConnectError && err.code === 'format_mismatch',
    `format_mismatch (${String(err)})`,
  );
  t.match(String((err as Error).message), /input audio pcm@16000, we asked for pcmu/);
});

t.test('caller transcripts: .updated wholes replace, repeated .completed give one final', async (t) => {
  const server = await liveShapedServer(t, [
    (ws) => {
      const send = (e: Record<string, unknown>): void => ws.send(JSON.stringify(e));
      send({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'item_1' });
      send({
        type: 'conversation.item.input_audio_transcription.updated',
        item_id: 'item_1',
        transcript: 'hel',
      });
      send({
        type: 'conversation.item.input_audio_transcription.updated',
        item_id: 'item_1',
        transcript: 'hello wor',
      });
      send({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: 'item_1',
        transcript: 'hello world',
        status: 'in_progress',
      });
      send({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: 'item_1',
        transcript: 'Hello world.',
      });
      send({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: 'item_1',
        transcript: 'Hello, world.',
      });
      // The agent's turn: deltas appended into a whole, one final at done; usage in response.done.
      send({ type: 'response.created', response: { id: 'resp_1' } });
      send({ type: 'response.output_audio_transcript.delta', item_id: 'item_2', delta: 'Hi ' });
      send({ type: 'response.output_audio_transcript.delta', item_id: 'item_2', delta: 'there.' });
      send({
        type: 'response.output_audio.delta',
        response_id: 'resp_1',
        item_id: 'item_2',
        delta: Buffer.alloc(160, 0xff).toString('base64'),
        audio_duration_ms: 20,
        ts: 1,
        latency: 120,
        rid: 'r',
        output_index: 0,
      });
      send({ type: 'response.output_audio_transcript.done', item_id: 'item_2', transcript: 'Hi there.' });
      // Live: the numbers are in a top-level usage, response.usage is {}.
      send({
        type: 'response.done',
        response: { id: 'resp_1', status: 'completed', usage: {} },
        usage: {
          output_audio_seconds: 1.25,
          billable_audio_seconds: 2.5,
          input_tokens: 40,
          output_tokens: 12,
          total_tokens: 52,
        },
      });
    },
  ]);
  const s = await connectRealtime({ url: server.url, session, reconnect: false });
  t.teardown(() => s.close());
  const transcripts = record(s, 'transcript');
  const done = record(s, 'response_done');
  const audio = record(s, 'audio');
  await until(() => transcripts.filter((e) => e.final && e.role === 'user').length > 0);
  await new Promise((r) => setTimeout(r, 1200)); // past the settle time: nothing more may come
  const user = transcripts.filter((e: RealtimeTranscriptEvent) => e.role === 'user');
  t.same(
    user.filter((e) => !e.final).map((e) => e.text),
    ['hel', 'hello wor', 'hello world'],
    'partials are the whole text so far (in_progress is a partial)',
  );
  t.same(
    user.filter((e) => e.final).map((e) => e.text),
    ['Hello, world.'],
    'one final per item: the last one',
  );
  const agent = transcripts.filter((e) => e.role === 'agent');
  t.same(
    agent.map((e) => [e.text, e.final]),
    [
      ['Hi ', false],
      ['Hi there.', false],
      ['Hi there.', true],
    ],
  );
  t.equal(audio.length, 1, 'a delta with the live extra fields is read');
  t.same(done[0]?.usage, {
    outputAudioSeconds: 1.25,
    sessionBillableAudioSeconds: 2.5,
    inputTokens: 40,
    outputTokens: 12,
  });
});

t.test('an error whose fields are null is read and classified, not dropped', async (t) => {
  const server = await liveShapedServer(t, [
    (ws) =>
      ws.send(
        JSON.stringify({
          type: 'error',
          error: { type: null, code: null, message: null, param: null, event_id: null },
        }),
      ),
  ]);
  const s = await connectRealtime({ url: server.url, session, reconnect: false });
  t.teardown(() => s.close());
  const errors = record(s, 'error');
  await until(() => errors.length > 0);
  t.match(errors[0], { fatal: false, message: 'realtime error' });
  t.equal(s.stats.malformedEvents, 0);
});

t.test(
  'max_duration: the service ends the session, a new one takes over with the conversation',
  async (t) => {
    const server = await liveShapedServer(t, [
      async (ws) => {
        const send = (e: Record<string, unknown>): void => ws.send(JSON.stringify(e));
        send({
          type: 'conversation.item.input_audio_transcription.completed',
          item_id: 'u1',
          transcript: 'My order is 4711.',
        });
        send({
          type: 'response.output_audio_transcript.done',
          item_id: 'a1',
          transcript: 'Order 4711 ships today.',
        });
        await new Promise((r) => setTimeout(r, 100));
        send({
          type: 'error',
          error: {
            type: 'max_duration',
            code: null,
            message: 'Maximum session duration reached',
            param: null,
          },
        });
        ws.close(1000, 'max duration');
      },
      (ws) => {
        ws.send(
          JSON.stringify({
            type: 'response.output_audio.delta',
            response_id: 'resp_9',
            item_id: 'a9',
            delta: Buffer.alloc(160, 0x7f).toString('base64'),
          }),
        );
      },
    ]);
    const s = await connectRealtime({ url: server.url, session, reconnect: false, reconnectDelayMs: 50 });
    t.teardown(() => s.close());
    const renewed = record(s, 'renewed');
    const closed = record(s, 'closed');
    const audio = record(s, 'audio');
    await until(() => audio.length > 0);
    t.equal(renewed.length, 1, 'renewed once (even with the once-only reconnect turned off)');
    t.equal(closed.length, 0, 'the session did not close');
    t.equal(s.stats.renewals, 1);
    t.equal(audio.length, 1, 'audio of the new session reaches the call');
    const second = server.connections[1]?.received.find((e) => e.type === 'session.update') as
      { session: { instructions: string } } | undefined;
    t.match(second?.session.instructions ?? '', /You answer the phone\./, 'our instructions');
    t.match(
      second?.session.instructions ?? '',
      /Caller: My order is 4711\.\nYou: Order 4711 ships today\./,
      'and the conversation so far',
    );
    t.notOk(
      server.connections[1]?.received.some((e) => e.type === 'response.create'),
      'nothing is re-spoken: no response asked for',
    );
  },
);

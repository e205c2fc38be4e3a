// The local agent speaks the live service's wire shapes (shared/notes/xai-realtime.md, "What later
// evidence showed"), checked with a plain `ws` client so that what is asserted is the wire, not
// what our realtime client makes of it: the greeting order and pings, the flat session.updated,
// caller transcripts only when asked for (`.updated` wholes, repeated `.completed`), delta fields
// and usage, a session the service ends, null error fields, a slow cancel, flat function tools
// and `turn_detection: {type: null}`.
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import { parseLocalAgentArgs } from '../../src/realtime/local-agent-cli.js';
import {
  startLocalAgent,
  type LocalAgent,
  type LocalAgentOptions,
} from '../../src/realtime/local-agent/local-agent-server.js';
import { strictLiveShape } from '../../src/realtime/local-agent/live-shape.js';
import type { AudioFormat } from '../../src/audio/audio-format.js';
import { speechBurst, watchUnhandledRejections } from './session-recorder.js';

const stopWatching = watchUnhandledRejections();
const pcmu: AudioFormat = { encoding: 'pcmu' };

type Event = { type: string } & Record<string, unknown>;
const transcriptionPrefix = 'conversation.item.input_audio_transcription.';

/** A bare WebSocket client that records every server event; every wait is bounded. */
class RawClient {
  readonly events: Event[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string; atMs: number }>;
  #waiters: { match: (e: Event, i: number) => boolean; resolve: (e: Event) => void }[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const event = JSON.parse(String(data)) as Event;
      this.events.push(event);
      const index = this.events.length - 1;
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(event, index)) return true;
        w.resolve(event);
        return false;
      });
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: String(reason), atMs: Date.now() })),
    );
  }

  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    const client = new RawClient(ws);
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return client;
  }

  send(event: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(event));
  }

  of(type: string, from = 0): Event[] {
    return this.events.slice(from).filter((e) => e.type === type);
  }

  indexOf(event: Event): number {
    return this.events.indexOf(event);
  }

  /** The first event of `type` at or after index `from` that matches, waiting up to `timeoutMs`. */
  next(type: string, where: (e: Event) => boolean = () => true, from = 0, timeoutMs = 3000): Promise<Event> {
    const match = (e: Event, i: number): boolean => i >= from && e.type === type && where(e);
    const found = this.events.find((e, i) => match(e, i));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        const seen = this.events.map((e) => e.type).join(', ');
        reject(new Error(`no ${type} within ${timeoutMs} ms; got: ${seen}`));
      }, timeoutMs);
      const done = (e: Event): void => {
        clearTimeout(timer);
        resolve(e);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }

  /** Caller audio in 20 ms appends, as fast as the socket takes them. */
  appendAudio(audio: Buffer, bytesPer20ms = 160): void {
    for (let offset = 0; offset < audio.length; offset += bytesPer20ms) {
      const chunk = audio.subarray(offset, Math.min(audio.length, offset + bytesPer20ms));
      this.send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') });
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A session.update as our client sends it (nested formats, flat function tool). */
function sessionUpdate(session: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'session.update',
    session: {
      voice: 'Rex',
      instructions: 'Be brief.',
      turn_detection: { type: 'server_vad', prefix_padding_ms: 0, silence_duration_ms: 200 },
      audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } },
      ...session,
    },
  };
}

async function agentAndClient(
  t: Test,
  options: LocalAgentOptions,
  session?: Record<string, unknown>,
  query = '',
): Promise<{ agent: LocalAgent; client: RawClient; updated: Event }> {
  const agent = await startLocalAgent(options);
  t.teardown(() => agent.close());
  const client = await RawClient.open(`${agent.url}${query}`);
  t.teardown(() => client.ws.terminate());
  await client.next('conversation.created');
  client.send(sessionUpdate(session));
  const updated = await client.next('session.updated');
  return { agent, client, updated };
}

t.test('greeting: session.created → conversation.created → ping, then pings every interval', async (t) => {
  const agent = await startLocalAgent({ live: { pingIntervalMs: 100 } });
  t.teardown(() => agent.close());
  const openedAt = Date.now();
  const client = await RawClient.open(`${agent.url}?model=grok-voice-test-1`);
  t.teardown(() => client.ws.terminate());
  await client.next('ping', (e) => client.indexOf(e) >= 4, 0, 2000);
  t.same(
    client.events.slice(0, 3).map((e) => e.type),
    ['session.created', 'conversation.created', 'ping'],
    'the recorded live order',
  );
  const [created, conversation, ping] = client.events as [Event, Event, Event];
  t.match(created, {
    session: {
      object: 'realtime.session',
      instructions: '',
      voice: 'xai_ara',
      modalities: ['audio'],
      turn_detection: { type: null },
      tools: [],
      model: 'grok-voice-test-1',
    },
  });
  t.match(conversation, { conversation: { object: 'realtime.conversation' }, previous_item_id: null });
  t.type(ping.timestamp, 'number');
  t.ok(Math.abs((ping.timestamp as number) - openedAt) < 2000, 'ping timestamp is the wall clock in ms');
  const pings = client.of('ping');
  t.ok(pings.length >= 3, `${pings.length} pings`);
  const gap = (pings[2]!.timestamp as number) - (pings[1]!.timestamp as number);
  t.ok(gap >= 80 && gap < 1000, `periodic pings ${gap} ms apart (interval 100 ms)`);
  t.equal(client.of('session.updated').length, 0, 'no session.updated before a session.update');
});

t.test(
  'session.updated is flat, as recorded live; a partial update keeps what it does not name',
  async (t) => {
    const tool = {
      type: 'function',
      name: 'hangup',
      description: 'End the call',
      parameters: { type: 'object' },
    };
    const { client, updated } = await agentAndClient(
      t,
      { live: true },
      { tools: [{ type: 'web_search' }, tool] },
      '?model=grok-voice-test-2',
    );
    t.same(updated.session, {
      id: 'sess_local_0',
      object: 'realtime.session',
      model: 'grok-voice-test-2',
      voice: 'xai_rex',
      instructions: 'Be brief.',
      modalities: ['audio'],
      input_audio_format: 'not specified',
      output_audio_format: 'not specified',
      input_audio_transcription: null,
      turn_detection: { type: 'server_vad', prefix_padding_ms: 0, silence_duration_ms: 200 },
      tools: [{ type: 'web_search' }, tool],
      keep_context: true,
      enable_noise_suppression: false,
      temperature: 0.8,
    });
    t.notOk('audio' in (updated.session as object), 'no audio.*.format echo');
    t.equal(updated.previous_item_id, undefined);

    client.send({
      type: 'session.update',
      session: {
        input_audio_format: 'g711_ulaw',
        temperature: 0.5,
        audio: { input: { transcription: { model: 'grok-transcribe' } } },
      },
    });
    const second = await client.next('session.updated', () => true, client.indexOf(updated) + 1);
    t.match(second.session, {
      voice: 'xai_rex',
      instructions: 'Be brief.',
      input_audio_format: 'g711_ulaw',
      output_audio_format: 'not specified',
      input_audio_transcription: { model: 'grok-transcribe' },
      temperature: 0.5,
      tools: [{ type: 'web_search' }, tool],
    });
  },
);

t.test('our realtime client completes its handshake against the strict live shape', async (t) => {
  const agent = await startLocalAgent({ live: true });
  t.teardown(() => agent.close());
  const format: AudioFormat = { encoding: 'pcm', sampleRate: 16000 };
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat: pcmu, outputFormat: format },
    handshakeTimeoutMs: 2000,
  });
  t.same(session.inputFormat, pcmu, 'keeps the input format it asked for');
  t.same(session.outputFormat, format, 'keeps the output format it asked for');
  await session.close();
});

t.test('caller transcripts: none unless the session enables transcription (strict live)', async (t) => {
  const { client } = await agentAndClient(t, { live: true, pacing: { burstIntervalMs: 0 } });
  client.appendAudio(speechBurst(pcmu, 100, 600, 400));
  await client.next('response.done');
  t.same(
    client.events.filter((e) => e.type.startsWith(transcriptionPrefix)),
    [],
    'no caller transcript event of any kind',
  );
});

t.test(
  'caller transcripts: .updated carries the whole text so far, then .completed; no .delta',
  async (t) => {
    const { client } = await agentAndClient(
      t,
      { live: true, pacing: { burstIntervalMs: 0 } },
      { audio: { input: { format: { type: 'audio/pcmu' }, transcription: { model: 'grok-transcribe' } } } },
    );
    client.appendAudio(speechBurst(pcmu, 100, 600, 400));
    const completed = await client.next(`${transcriptionPrefix}completed`);
    const started = await client.next('input_audio_buffer.speech_started');
    const stopped = await client.next('input_audio_buffer.speech_stopped');
    const partials = client.of(`${transcriptionPrefix}updated`);
    t.same(
      partials.map((p) => p.transcript),
      ['[caller 0.2 s…]', '[caller 0.4 s…]', '[caller 0.6 s…]'],
      'each partial is the whole text so far (replace, do not append)',
    );
    t.ok(
      partials.every((p) => p.item_id === started.item_id && p.content_index === 0),
      'partials name the caller item',
    );
    t.ok(
      partials.every((p) => client.indexOf(p) < client.indexOf(stopped)),
      'partials come while the caller speaks',
    );
    t.match(completed, { item_id: started.item_id, content_index: 0, transcript: '[caller 0.6 s]' });
    t.notOk('status' in completed, 'a single final .completed has no status');
    await client.next('response.done');
    t.equal(client.of(`${transcriptionPrefix}delta`).length, 0, 'no .delta at all');
    t.equal(client.of(`${transcriptionPrefix}completed`).length, 1);
  },
);

t.test(
  'caller transcripts: .completed in_progress, final, and the final again (repeatedCompleted)',
  async (t) => {
    const { client } = await agentAndClient(
      t,
      { live: { ...strictLiveShape, repeatedCompleted: true }, pacing: { burstIntervalMs: 0 } },
      { audio: { input: { format: { type: 'audio/pcmu' }, transcription: { model: 'grok-transcribe' } } } },
    );
    client.appendAudio(speechBurst(pcmu, 100, 400, 400));
    await client.next('response.done');
    const completed = client.of(`${transcriptionPrefix}completed`);
    t.equal(completed.length, 3);
    const [early, final, repeat] = completed as [Event, Event, Event];
    t.match(early, { status: 'in_progress', transcript: '[caller 0.4 s…]' });
    t.match(final, { status: 'completed', transcript: '[caller 0.4 s]' });
    t.same({ ...repeat, event_id: '' }, { ...final, event_id: '' }, 'the final one is repeated');
    const responseCreated = client.indexOf(client.of('response.created')[0]!);
    t.ok(client.indexOf(final) < responseCreated, 'the final one comes before the answer');
    t.ok(client.indexOf(repeat) > responseCreated, 'the repeat comes after the answer has started');
    t.ok(completed.every((c) => c.item_id === early.item_id));
  },
);

t.test(
  'caller transcripts unasked: none by default (live); callerTranscripts always: one .completed per turn',
  async (t) => {
    const quiet = await agentAndClient(t, { pacing: { burstIntervalMs: 0 } });
    quiet.client.appendAudio(speechBurst(pcmu, 100, 600, 400));
    await quiet.client.next('response.done');
    t.same(
      quiet.client.events.filter((e) => e.type.startsWith(transcriptionPrefix)),
      [],
      'the session did not enable transcription: no caller transcript, as the service does',
    );
    const { client } = await agentAndClient(t, {
      pacing: { burstIntervalMs: 0 },
      live: { callerTranscripts: 'always' },
    });
    client.appendAudio(speechBurst(pcmu, 100, 600, 400));
    await client.next('response.done');
    t.same(
      client.events.filter((e) => e.type.startsWith(transcriptionPrefix)).map((e) => [e.type, e.transcript]),
      [[`${transcriptionPrefix}completed`, '[caller 0.6 s]']],
    );
  },
);

t.test('output deltas say how much audio they hold; response.done carries usage', async (t) => {
  const { client } = await agentAndClient(t, { live: true, pacing: { burstIntervalMs: 0 } });
  const sentAt = Date.now();
  client.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello there' }] },
  });
  client.send({ type: 'response.create' });
  const done = await client.next('response.done');
  const created = client.of('response.created')[0]!;
  const responseId = (created.response as { id: string }).id;
  const deltas = client.of('response.output_audio.delta');
  t.ok(deltas.length > 1, `${deltas.length} deltas`);
  let audioMs = 0;
  let bytes = 0;
  for (const d of deltas) {
    const chunk = Buffer.from(d.delta as string, 'base64');
    bytes += chunk.length;
    audioMs += d.audio_duration_ms as number;
    t.equal(
      d.audio_duration_ms,
      chunk.length / 8,
      'audio_duration_ms is the delta’s own audio (μ-law, 8 kHz)',
    );
  }
  t.ok(
    deltas.every(
      (d) =>
        d.response_id === responseId &&
        d.output_index === 0 &&
        typeof d.ts === 'number' &&
        Math.abs((d.ts as number) - sentAt) < 5000 &&
        typeof d.latency === 'number' &&
        (d.latency as number) >= 0 &&
        typeof d.rid === 'string' &&
        d.rid === deltas[0]!.rid,
    ),
    'every delta: response_id, output_index, ts, latency, rid',
  );
  t.equal(audioMs, 300, 'the deltas add up to the answer (a 300 ms tone)');
  t.equal(bytes, 2400);
  t.match(done, {
    response_id: responseId,
    previous_item_id: null,
    response: { id: responseId, status: 'completed', usage: {} },
  });
  t.same((done.response as { usage: object }).usage, {}, 'response.usage is empty, as recorded live');
  const usage = done.usage as Record<string, number>;
  t.equal(usage.output_audio_seconds, 0.3, 'output_audio_seconds: the audio sent');
  t.ok(
    Number.isInteger(usage.billable_audio_seconds) && usage.billable_audio_seconds! >= 1,
    'billable whole s',
  );
  t.ok(usage.input_tokens! > 0 && usage.output_tokens! > 0);
  t.equal(usage.total_tokens, usage.input_tokens! + usage.output_tokens!);
});

t.test('usage of a cancelled answer counts the audio that went out', async (t) => {
  const { agent, client } = await agentAndClient(t, {
    mode: 'scripted',
    live: true,
    pacing: { burstMs: 200, burstIntervalMs: 100 },
  });
  agent.runStep({ kind: 'long_response', durationMs: 30_000 });
  await client.next('response.output_audio.delta');
  client.send({ type: 'response.cancel' });
  const done = await client.next('response.done');
  t.match(done.response, { status: 'cancelled' });
  const sentMs = client
    .of('response.output_audio.delta')
    .reduce((sum, d) => sum + (d.audio_duration_ms as number), 0);
  t.equal((done.usage as { output_audio_seconds: number }).output_audio_seconds, sentMs / 1000);
  t.ok(sentMs > 0 && sentMs < 30_000, `${sentMs} ms of 30000 went out`);
});

t.test('the service ends the session: error max_duration, then the socket closes', async (t) => {
  const { client, updated } = await agentAndClient(t, {
    mode: 'scripted',
    live: true,
    script: { afterHandshake: [{ kind: 'end_session', afterMs: 300 }] },
  });
  const updatedAt = Date.now();
  const error = await client.next('error');
  const elapsed = Date.now() - updatedAt;
  t.ok(elapsed >= 250 && elapsed < 2000, `error ${elapsed} ms after session.updated (afterMs 300)`);
  t.same(error.error, {
    type: 'max_duration',
    code: null,
    message: 'Maximum session duration reached',
    param: null,
    event_id: null,
  });
  const closed = await client.closed;
  t.same([closed.code, closed.reason], [1000, 'max_duration'], 'then the socket closes');
  t.ok(client.indexOf(error) > client.indexOf(updated));
  t.equal(client.events.at(-1)?.type, 'error', 'nothing after the error');
});

t.test('maxSessionMs ends every session; a timeout ends one with its own code and close', async (t) => {
  const agent = await startLocalAgent({ live: { maxSessionMs: 250 } });
  t.teardown(() => agent.close());
  const openedAt = Date.now();
  const client = await RawClient.open(agent.url);
  t.teardown(() => client.ws.terminate());
  const error = await client.next('error');
  t.match(error.error, { type: 'max_duration', code: null, param: null });
  const closed = await client.closed;
  t.ok(closed.atMs - openedAt >= 240, `closed after ${closed.atMs - openedAt} ms (maxSessionMs 250)`);

  const scripted = await startLocalAgent({ mode: 'scripted' });
  t.teardown(() => scripted.close());
  const other = await RawClient.open(scripted.url);
  t.teardown(() => other.ws.terminate());
  await other.next('conversation.created');
  scripted.runStep({ kind: 'end_session', reason: 'timeout', code: 'session_timeout', closeCode: 4000 });
  t.same((await other.next('error')).error, {
    type: 'timeout',
    code: 'session_timeout',
    message: 'Session timed out',
    param: null,
    event_id: null,
  });
  t.same(((c) => [c.code, c.reason])(await other.closed), [4000, 'timeout']);
});

t.test('errors carry param and event_id; any field may be null', async (t) => {
  const { agent, client } = await agentAndClient(t, { mode: 'scripted', live: true });
  client.send({ type: 'response.cancel', event_id: 'evt_client_7' });
  t.same((await client.next('error')).error, {
    type: 'invalid_request_error',
    code: 'response_cancel_not_active',
    message: 'Cancellation failed: no active response found',
    param: null,
    event_id: 'evt_client_7',
  });
  const from = client.events.length;
  agent.runStep({ kind: 'error', code: null, message: null, errorType: null });
  t.same((await client.next('error', () => true, from)).error, {
    type: null,
    code: null,
    message: null,
    param: null,
    event_id: null,
  });
  const later = client.events.length;
  agent.runStep({
    kind: 'error',
    code: 'invalid_value',
    message: null,
    errorType: 'invalid_request_error',
    param: 'session.voice',
    eventId: 'evt_x',
  });
  t.same((await client.next('error', () => true, later)).error, {
    type: 'invalid_request_error',
    code: 'invalid_value',
    message: null,
    param: 'session.voice',
    event_id: 'evt_x',
  });
  t.equal(client.ws.readyState, WebSocket.OPEN, 'the session goes on');
});

t.test(
  'a slow server streams on after response.cancel (same response), then ends it cancelled',
  async (t) => {
    const { agent, client } = await agentAndClient(t, {
      mode: 'scripted',
      live: { ...strictLiveShape, cancelLagMs: 300 },
      pacing: { deltaMs: 40, burstMs: 80, burstIntervalMs: 40 },
    });
    agent.runStep({ kind: 'long_response', durationMs: 60_000 });
    const first = await client.next('response.output_audio.delta');
    const cancelIndex = client.events.length;
    const cancelledAt = Date.now();
    client.send({ type: 'response.cancel' });
    const done = await client.next('response.done');
    const lag = Date.now() - cancelledAt;
    t.match(done.response, { id: first.response_id, status: 'cancelled' });
    const late = client.of('response.output_audio.delta', cancelIndex);
    t.ok(late.length >= 3, `${late.length} deltas after the cancel`);
    t.ok(
      late.every((d) => d.response_id === first.response_id),
      'the late deltas belong to the cancelled response',
    );
    t.ok(lag >= 250, `response.done ${lag} ms after the cancel (lag 300 ms)`);
    t.equal(client.of('error').length, 0, 'the cancel was not refused');

    // The caller speaking over the next answer (server VAD barge-in) is just as slow.
    agent.runStep({ kind: 'long_response', durationMs: 60_000 });
    const second = await client.next('response.created', () => true, client.indexOf(done) + 1);
    const secondId = (second.response as { id: string }).id;
    client.appendAudio(speechBurst(pcmu, 0, 300, 0));
    const started = await client.next('input_audio_buffer.speech_started');
    const secondDone = await client.next(
      'response.done',
      (e) => (e.response as { id: string }).id === secondId,
    );
    t.match(secondDone.response, { status: 'cancelled' });
    t.ok(
      client
        .of('response.output_audio.delta', client.indexOf(started))
        .some((d) => d.response_id === secondId),
      'deltas of the interrupted answer after speech_started',
    );
  },
);

t.test('a slow cancel that the answer outruns: completed, and the cancel finds nothing', async (t) => {
  const { client } = await agentAndClient(t, {
    live: { ...strictLiveShape, cancelLagMs: 2000 },
    pacing: { deltaMs: 40, burstMs: 100, burstIntervalMs: 50 },
  });
  client.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
  });
  client.send({ type: 'response.create' });
  await client.next('response.output_audio.delta');
  client.send({ type: 'response.cancel', event_id: 'evt_cancel' });
  const done = await client.next('response.done');
  t.match(done.response, { status: 'completed' });
  const error = await client.next('error');
  t.match(error.error, { code: 'response_cancel_not_active', event_id: 'evt_cancel' });
  t.ok(client.indexOf(error) > client.indexOf(done), 'the refusal comes after response.done');
});

t.test('function tools must be flat: a nested one is refused, no session.updated', async (t) => {
  const agent = await startLocalAgent({ live: true });
  t.teardown(() => agent.close());
  const client = await RawClient.open(agent.url);
  t.teardown(() => client.ws.terminate());
  await client.next('conversation.created');
  client.send(
    sessionUpdate({
      tools: [{ type: 'function', function: { name: 'hangup', parameters: { type: 'object' } } }],
    }),
  );
  t.match((await client.next('error')).error, {
    type: 'invalid_request_error',
    code: 'invalid_value',
    param: 'session.tools[0].name',
  });
  await sleep(100);
  t.equal(client.of('session.updated').length, 0);
});

t.test('turn_detection {type: null}: no VAD; commit, then response.create answers', async (t) => {
  const { agent, client } = await agentAndClient(
    t,
    { live: true, pacing: { burstIntervalMs: 0 } },
    {
      turn_detection: { type: null },
      audio: {
        input: { format: { type: 'audio/pcmu' }, transcription: { model: 'grok-transcribe' } },
        output: { format: { type: 'audio/pcmu' } },
      },
    },
  );
  const update = agent.received.find((r) => r.event.type === 'session.update')?.event as
    { session: { turn_detection: unknown } } | undefined;
  t.same(update?.session.turn_detection, { type: null }, 'recorded as the client sent it');
  t.same(client.of('error'), [], 'accepted');
  const utterance = speechBurst(pcmu, 100, 500, 100);
  client.appendAudio(utterance);
  client.send({ type: 'input_audio_buffer.commit' });
  const committed = await client.next('input_audio_buffer.committed');
  const completed = await client.next(`${transcriptionPrefix}completed`);
  t.match(completed, { item_id: committed.item_id, transcript: '[caller 0.7 s]' });
  t.match(client.of(`${transcriptionPrefix}updated`), [{ item_id: committed.item_id }], 'one partial');
  await sleep(200);
  t.equal(client.of('input_audio_buffer.speech_started').length, 0, 'no VAD events');
  t.equal(client.of('response.created').length, 0, 'no answer before response.create');
  client.send({ type: 'response.create' });
  const created = await client.next('response.created');
  await client.next('response.done');
  const responseId = (created.response as { id: string }).id;
  const echoed = Buffer.concat(
    client
      .of('response.output_audio.delta')
      .filter((d) => d.response_id === responseId)
      .map((d) => Buffer.from(d.delta as string, 'base64')),
  );
  t.ok(echoed.equals(utterance), 'the answer echoes the committed turn');
});

t.test('standalone agent: --live and the live timing options', async (t) => {
  t.match(parseLocalAgentArgs(['--live', '--ping-interval-ms', '500', '--cancel-lag-ms', '250']), {
    live: { callerTranscripts: 'when-enabled', pingIntervalMs: 500, cancelLagMs: 250 },
  });
  t.same(parseLocalAgentArgs(['--max-session-ms', '1000']).live, { maxSessionMs: 1000 });
  t.equal(parseLocalAgentArgs([]).live, undefined);
  t.throws(() => parseLocalAgentArgs(['--cancel-lag-ms=-1']), RangeError);
});

t.test('no unhandled rejection while this file ran', async (t) => {
  t.same(stopWatching(), []);
});

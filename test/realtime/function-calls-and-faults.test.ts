// What the call bridge relies on when things are not simple: tool calls announced more than
// once, garbage from the server, a dropped socket (reconnect once), a drop mid-answer, fatal
// errors, and misuse of the client API.
import t, { type Test } from 'tap';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import type { ConnectRealtimeOptions } from '../../src/realtime/realtime-session.js';
import {
  startLocalAgent,
  type LocalAgentOptions,
} from '../../src/realtime/local-agent/local-agent-server.js';
import type { AudioFormat } from '../../src/audio/audio-format.js';
import {
  appendIn20msChunks,
  SessionRecorder,
  speechBurst,
  watchUnhandledRejections,
} from './session-recorder.js';

const stopWatching = watchUnhandledRejections();
const format: AudioFormat = { encoding: 'pcmu' };

async function setup(
  t: Test,
  agentOptions: LocalAgentOptions,
  clientOptions: Partial<ConnectRealtimeOptions> = {},
) {
  const agent = await startLocalAgent({ mode: 'scripted', pacing: { burstIntervalMs: 0 }, ...agentOptions });
  t.teardown(() => agent.close());
  const session = await connectRealtime({
    url: agent.url,
    session: {
      inputFormat: format,
      outputFormat: format,
      turnDetection: { prefixPaddingMs: 0, silenceDurationMs: 200 },
    },
    reconnectDelayMs: 10,
    ...clientOptions,
  });
  t.teardown(() => session.close());
  return { agent, session, rec: new SessionRecorder(session) };
}

/** One caller utterance; resolves with the answer's response id once it is done. */
async function speakAndWait(
  session: import('../../src/realtime/realtime-session.js').RealtimeSession,
  rec: SessionRecorder,
) {
  appendIn20msChunks(session, speechBurst(format, 100, 300, 300), 160);
  const { responseId } = await rec.next('response_started');
  const done = await rec.next('response_done', (d) => d.responseId === responseId);
  return { responseId, status: done.status };
}

t.test('a function call announced five times is delivered once; its result gets an answer', async (t) => {
  const { agent, session, rec } = await setup(t, {
    script: {
      turns: [
        {
          kind: 'function_call',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
          callId: 'call_1',
          announceTimes: 3,
        },
      ],
    },
  });
  session.sendUserText('What is the weather in Paris?');
  const call = await rec.next('function_call');
  t.same(call, { callId: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' });
  const callResponse = await rec.next('response_done');
  t.equal(callResponse.status, 'completed');
  t.equal(rec.of('function_call').length, 1, 'delivered once');
  t.equal(session.stats.duplicateFunctionCalls, 4, '3× arguments.done + output_item.done + response.done');

  session.sendFunctionResult('call_1', '{"tempC":21}');
  const answer = await rec.next('transcript', (x) => x.role === 'agent' && x.final);
  t.equal(answer.text, '[function result: {"tempC":21}]');
  const sent = agent.received.map((r) => r.event);
  const output = sent.find(
    (e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output',
  );
  t.same(output, {
    type: 'conversation.item.create',
    item: { type: 'function_call_output', call_id: 'call_1', output: '{"tempC":21}' },
  });
  t.equal(sent[sent.indexOf(output!) + 1]?.type, 'response.create', 'response.create follows the output');
  t.equal(rec.of('function_call').length, 1);
});

t.test('user text (DTMF) and instructions reach the agent', async (t) => {
  const { agent, session, rec } = await setup(t, {});
  session.sendUserText('caller pressed 5');
  t.equal(
    (await rec.next('transcript', (x) => x.role === 'agent' && x.final)).text,
    '[echo text: caller pressed 5]',
  );
  await rec.next('response_done');
  session.createResponse({ instructions: 'Greet the caller' });
  t.equal(
    (await rec.next('transcript', (x) => x.role === 'agent' && x.final)).text,
    '[instructions: Greet the caller]',
  );
  const create = agent.received.at(-1)?.event;
  t.same(create, { type: 'response.create', response: { instructions: 'Greet the caller' } });
});

t.test('garbage, unknown events and pings are ignored; the session goes on', async (t) => {
  const { session, rec } = await setup(t, {
    script: { afterHandshake: [{ kind: 'bad_json' }, { kind: 'unknown_event' }, { kind: 'ping' }] },
  });
  const { status } = await speakAndWait(session, rec);
  t.equal(status, 'completed', 'echo still works after the garbage');
  t.equal(session.stats.malformedEvents, 5, 'not JSON, binary, array, numeric type, delta missing');
  t.equal(session.stats.unknownEvents, 1);
  t.equal(rec.of('error').length, 0, 'garbage is logged, not raised');
  t.equal(session.state, 'ready');
});

t.test('the server drops the socket: one reconnect, same config seeded with the conversation', async (t) => {
  const { agent, session, rec } = await setup(t, {});
  await speakAndWait(session, rec);
  agent.runStep({ kind: 'disconnect' });
  const lost = await rec.next('error');
  t.match(lost, { fatal: false, code: 'connection_lost' });
  await rec.next('reconnected');
  t.equal(session.stats.reconnects, 1);
  t.equal(agent.connectionsAccepted(), 2);
  const updates = agent.received.filter((r) => r.event.type === 'session.update');
  t.equal(updates.length, 2);
  // The new session is told what was said (issue 15: a mid-call close must not lose the context).
  const [first, second] = updates.map((u) => u.event as { session: { instructions?: string } });
  const { instructions: firstInstructions, ...firstRest } = first!.session;
  const { instructions: secondInstructions, ...secondRest } = second!.session;
  t.same(secondRest, firstRest, 'same session config after the reconnect');
  t.ok(
    (secondInstructions ?? '').startsWith(firstInstructions ?? ''),
    'our instructions first, then the conversation so far',
  );
  t.match(secondInstructions ?? '', /The conversation so far:\n\n(Caller|You): /);
  const { status } = await speakAndWait(session, rec);
  t.equal(status, 'completed', 'audio flows again on the new socket');

  // The reconnect was the only one: the next drop ends the session.
  agent.runStep({ kind: 'disconnect', closeCode: 1011 });
  t.match(await rec.next('error'), { fatal: true, code: 'connection_lost' });
  t.match(await rec.next('closed'), { reason: 'connection_lost', code: 1011 });
  t.equal(session.appendAudio(Buffer.alloc(160)), 'dropped');
  await agent.whenNoConnections();
});

t.test('audio sent while reconnecting is queued and delivered afterwards', async (t) => {
  const { agent, session, rec } = await setup(t, {}, { reconnectDelayMs: 100 });
  agent.runStep({ kind: 'disconnect' });
  await rec.next('error');
  t.equal(session.state, 'reconnecting');
  t.equal(session.appendAudio(Buffer.alloc(160, 0xff)), 'queued');
  await rec.next('reconnected');
  // A round trip after it: the socket is ordered, so the queued audio has arrived by then.
  session.sendUserText('ping');
  await rec.next('response_done');
  t.ok(
    agent.received.some((r) => r.connection === 1 && r.event.type === 'input_audio_buffer.append'),
    'the queued audio went out on the new socket',
  );
});

t.test('reconnect that cannot finish its handshake → reconnect_failed, closed, no socket left', async (t) => {
  const { agent, rec } = await setup(
    t,
    { script: { handshake: ['normal', 'stall'] } },
    { handshakeTimeoutMs: 300 },
  );
  agent.runStep({ kind: 'disconnect' });
  t.match(await rec.next('error'), { fatal: false, code: 'connection_lost' });
  const failed = await rec.next('error');
  t.match(failed, { fatal: true, code: 'reconnect_failed' });
  t.match(failed.message, /handshake timed out/);
  t.match(await rec.next('closed'), { reason: 'reconnect_failed' });
  await agent.whenNoConnections();
  t.equal(agent.connectionsAccepted(), 2);
});

t.test('the server closes mid-response (no reconnect): interrupted, fatal error, closed', async (t) => {
  const { agent, rec } = await setup(
    t,
    { pacing: { burstMs: 50, burstIntervalMs: 20 } },
    { reconnect: false },
  );
  agent.runStep({ kind: 'close_mid_response', afterMs: 200 });
  const { responseId } = await rec.next('response_started');
  const done = await rec.next('response_done');
  t.same(done, { responseId, status: 'interrupted' });
  const error = await rec.next('error');
  t.match(error, { fatal: true, code: 'connection_lost' });
  t.match(error.message, new RegExp(`during response ${responseId}`));
  t.match(await rec.next('closed'), { reason: 'connection_lost' });
  t.ok(rec.audioOf(responseId).length >= 1600, 'the audio before the drop was delivered');
  await agent.whenNoConnections();
});

t.test('a fatal server error closes the session; a benign one does not', async (t) => {
  const { agent, session, rec } = await setup(t, {});
  agent.runStep({ kind: 'error', code: 'response_cancel_not_active', message: 'no active response' });
  t.match(await rec.next('error'), { fatal: false, benign: true });
  agent.runStep({ kind: 'error', code: 'server_busy', message: 'try later', errorType: 'server_error' });
  t.match(await rec.next('error'), { fatal: false, benign: false, code: 'server_busy' });
  t.equal(session.state, 'ready');
  agent.runStep({
    kind: 'error',
    code: 'invalid_api_key',
    message: 'Incorrect API key',
    errorType: 'authentication_error',
  });
  t.match(await rec.next('error'), { fatal: true, code: 'invalid_api_key' });
  t.match(await rec.next('closed'), { reason: 'fatal_error' });
  t.equal(session.state, 'closed');
  await agent.whenNoConnections();
});

t.test('bad arguments throw clear errors; close is idempotent', async (t) => {
  const { agent, session, rec } = await setup(t, {});
  t.throws(() => session.appendAudio('abc' as never), TypeError);
  t.throws(() => session.truncate('', 10), TypeError);
  t.throws(() => session.truncate('item_1', -1), RangeError);
  t.throws(() => session.sendFunctionResult('', 'x'), TypeError);
  t.throws(() => session.sendFunctionResult('c', 1 as never), TypeError);
  t.throws(() => session.sendUserText(''), TypeError);
  await Promise.all([session.close(), session.close()]);
  await session.close();
  t.same(rec.of('closed'), [{ reason: 'client' }], 'closed once, by the client');
  t.equal(session.appendAudio(Buffer.alloc(160)), 'dropped');
  session.cancelResponse();
  session.createResponse();
  await agent.whenNoConnections();
  t.equal(rec.of('error').length, 0, 'calls after close are silent no-ops');
});

t.test('an error event with no listener is logged, not thrown', async (t) => {
  const agent = await startLocalAgent({ mode: 'scripted' });
  t.teardown(() => agent.close());
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat: format, outputFormat: format },
  });
  t.teardown(() => session.close());
  const closed = new Promise((resolve) => session.once('closed', resolve));
  agent.runStep({ kind: 'error', code: 'invalid_api_key', message: 'bad key' });
  t.match(await closed, { reason: 'fatal_error' });
});

t.test('no unhandled rejection while this file ran', async (t) => {
  t.same(stopWatching(), []);
});

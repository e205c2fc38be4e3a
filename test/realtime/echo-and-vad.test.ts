// The local agent in echo mode over a real socket: a synthetic utterance goes in, the VAD marks
// it, and the same audio comes back — byte-exact for G.711, sample-exact for PCM.
import t from 'tap';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';
import { startLocalAgent } from '../../src/realtime/local-agent/local-agent-server.js';
import { bytesPerMs, formatName, type AudioFormat } from '../../src/audio/audio-format.js';
import { decodeToLinear } from '../../src/realtime/local-agent/echo-transcoder.js';
import {
  appendIn20msChunks,
  SessionRecorder,
  speechBurst,
  watchUnhandledRejections,
} from './session-recorder.js';

const stopWatching = watchUnhandledRejections();

const formats: AudioFormat[] = [
  { encoding: 'pcmu' },
  { encoding: 'pcma' },
  { encoding: 'pcm', sampleRate: 16000 },
  { encoding: 'pcm', sampleRate: 24000 },
  { encoding: 'pcm', sampleRate: 48000 },
];

for (const format of formats) {
  t.test(`${formatName(format)}: VAD marks the burst and the echo equals the utterance`, async (t) => {
    const agent = await startLocalAgent();
    t.teardown(() => agent.close());
    const session = await connectRealtime({
      url: agent.url,
      session: {
        inputFormat: format,
        outputFormat: format,
        turnDetection: { prefixPaddingMs: 100, silenceDurationMs: 300 },
        // The service sends caller transcripts only when asked (as the local agent now does).
        transcription: { model: 'grok-transcribe' },
      },
    });
    t.teardown(() => session.close());
    const rec = new SessionRecorder(session);
    // 300 ms silence, 600 ms tone, 800 ms silence.
    const input = speechBurst(format, 300, 600, 800);
    appendIn20msChunks(session, input, bytesPerMs(format) * 20);

    const started = await rec.next('speech_started');
    t.equal(started.audioStartMs, 200, 'speech starts at the tone minus 100 ms prefix padding');
    const stopped = await rec.next('speech_stopped');
    t.equal(stopped.audioEndMs, 900, 'speech ends where the tone ends');
    t.equal(stopped.itemId, started.itemId);
    const { responseId } = await rec.next('response_started');
    const done = await rec.next('response_done', (d) => d.responseId === responseId);
    t.equal(done.status, 'completed');

    const echoed = rec.audioOf(responseId);
    const expected = input.subarray(200 * bytesPerMs(format), 900 * bytesPerMs(format));
    t.equal(echoed.length, expected.length, 'echo is 700 ms long');
    t.ok(echoed.equals(expected), 'echo is byte-identical to the utterance');
    t.ok(rec.of('audio').length > 1, 'the echo came as several deltas');
    t.ok(rec.of('audio').every((a) => a.itemId === rec.of('audio')[0]!.itemId && a.itemId !== ''));

    const transcripts = rec.of('transcript');
    t.same(
      transcripts.filter((x) => x.final).map((x) => [x.role, x.text]),
      [
        ['user', '[caller 0.7 s]'],
        ['agent', '[echo 0.7 s]'],
      ],
    );
    t.equal(session.stats.malformedEvents, 0);
    t.equal(session.stats.unknownEvents, 0);
  });
}

t.test('pcmu in, pcm 24 kHz out: the echo is converted and keeps the tone', async (t) => {
  const agent = await startLocalAgent({ pacing: { burstIntervalMs: 0 } });
  t.teardown(() => agent.close());
  const inputFormat: AudioFormat = { encoding: 'pcmu' };
  const outputFormat: AudioFormat = { encoding: 'pcm', sampleRate: 24000 };
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat, outputFormat, turnDetection: { prefixPaddingMs: 0, silenceDurationMs: 200 } },
  });
  t.teardown(() => session.close());
  const rec = new SessionRecorder(session);
  appendIn20msChunks(session, speechBurst(inputFormat, 100, 500, 400), 160);
  const { responseId } = await rec.next('response_started');
  await rec.next('response_done', (d) => d.responseId === responseId);
  const echoed = rec.audioOf(responseId);
  t.equal(echoed.length, 500 * 24 * 2, '500 ms at 24 kHz, 16-bit');
  const samples = decodeToLinear(echoed, outputFormat);
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  t.ok(Math.abs(crossings - 300) <= 4, `300 Hz tone survives: ${crossings} zero crossings in 0.5 s`);
});

t.test('turn detection off: no VAD events; a bare response.create answers', async (t) => {
  const agent = await startLocalAgent({ pacing: { burstIntervalMs: 0 } });
  t.teardown(() => agent.close());
  const format: AudioFormat = { encoding: 'pcma' };
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat: format, outputFormat: format, turnDetection: null },
  });
  t.teardown(() => session.close());
  const rec = new SessionRecorder(session);
  const input = speechBurst(format, 0, 400, 0);
  appendIn20msChunks(session, input, 160);
  session.createResponse();
  const { responseId } = await rec.next('response_started');
  await rec.next('response_done', (d) => d.responseId === responseId);
  t.equal(rec.of('speech_started').length, 0, 'no VAD events');
  const final = rec.of('transcript').find((x) => x.role === 'agent' && x.final);
  t.equal(final?.text, '[response]', 'a bare response.create answers with a tone');
});

t.test('a long answer arrives in bursts faster than real time, and cancel stops it', async (t) => {
  const agent = await startLocalAgent({ mode: 'scripted', pacing: { burstMs: 200, burstIntervalMs: 50 } });
  t.teardown(() => agent.close());
  const format: AudioFormat = { encoding: 'pcmu' };
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat: format, outputFormat: format },
  });
  t.teardown(() => session.close());
  const rec = new SessionRecorder(session);
  agent.runStep({ kind: 'long_response', durationMs: 60_000 });
  const { responseId } = await rec.next('response_started');
  await rec.next('audio');
  session.cancelResponse();
  const done = await rec.next('response_done', (d) => d.responseId === responseId);
  t.equal(done.status, 'cancelled');
  const received = rec.audioOf(responseId).length;
  t.ok(received > 0 && received < 60_000 * 8, `stopped after ${received / 8} ms of 60000`);
  // A second cancel with nothing active: the server's error is benign.
  session.cancelResponse();
  const error = await rec.next('error');
  t.match(error, { fatal: false, benign: true, code: 'response_cancel_not_active' });
  t.equal(session.state, 'ready');
});

t.test('barge-in: the caller speaking over an answer cancels it; truncate is accepted', async (t) => {
  const agent = await startLocalAgent({ mode: 'scripted', pacing: { burstMs: 100, burstIntervalMs: 100 } });
  t.teardown(() => agent.close());
  const format: AudioFormat = { encoding: 'pcmu' };
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat: format, outputFormat: format, turnDetection: { prefixPaddingMs: 0 } },
  });
  t.teardown(() => session.close());
  const rec = new SessionRecorder(session);
  agent.runStep({ kind: 'long_response', durationMs: 60_000 });
  const { responseId } = await rec.next('response_started');
  const firstAudio = await rec.next('audio');
  appendIn20msChunks(session, speechBurst(format, 0, 200, 0), 160);
  await rec.next('speech_started');
  const done = await rec.next('response_done', (d) => d.responseId === responseId);
  t.equal(done.status, 'cancelled');
  session.truncate(firstAudio.itemId, 40);
  session.truncate('item_unknown', 40);
  const error = await rec.next('error');
  t.match(error, { fatal: false, benign: true, code: 'item_truncate_invalid_item_id' });
  t.equal(rec.of('error').length, 1, 'the truncate of a real item raised no error');
  t.ok(
    agent.received.some((r) => r.event.type === 'conversation.item.truncate' && r.event.audio_end_ms === 40),
  );
});

t.test('no unhandled rejection while this file ran', async (t) => {
  t.same(stopWatching(), []);
});

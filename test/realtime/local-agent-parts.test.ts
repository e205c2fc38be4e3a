// The local agent's own parts: its G.711 table (checked against the native core over every
// input), resampling, the energy VAD, the script schema and the standalone entry point; and
// the client's edge parsing and error classification.
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeToLinear,
  encodeLinear,
  linearToAlaw,
  linearToUlaw,
  resampleLinear,
  transcode,
} from '../../src/realtime/local-agent/echo-transcoder.js';
import { EnergyVad, type VadEvent } from '../../src/realtime/local-agent/energy-vad.js';
import { parseClientEvent } from '../../src/realtime/local-agent/agent-connection.js';
import { clientEventSchema } from '../../src/realtime/client-events.js';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from '../../src/media/g711.js';
import { parseServerMessage } from '../../src/realtime/server-events.js';
import { classifyServerError } from '../../src/realtime/error-classification.js';
import { formatFromSessionJson } from '../../src/realtime/session-audio-format.js';
import { parseLocalAgentArgs, runLocalAgentCli } from '../../src/realtime/local-agent-cli.js';
import { connectRealtime } from '../../src/realtime/connect-realtime.js';

t.test('G.711 tables agree with the native core for all 65536 inputs and 256 codes', async (t) => {
  const all = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) all[i] = i - 32768;
  const pcm = new Uint8Array(all.buffer);
  const nativeU = encodeUlaw(pcm);
  const nativeA = encodeAlaw(pcm);
  let uMismatch = 0;
  let aMismatch = 0;
  for (let i = 0; i < 65536; i++) {
    if (linearToUlaw(all[i]!) !== nativeU[i]) uMismatch++;
    if (linearToAlaw(all[i]!) !== nativeA[i]) aMismatch++;
  }
  t.equal(uMismatch, 0, 'μ-law encode');
  t.equal(aMismatch, 0, 'A-law encode');
  const codes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  t.same(Buffer.from(decodeToLinear(codes, { encoding: 'pcmu' }).buffer), decodeUlaw(codes), 'μ-law decode');
  t.same(Buffer.from(decodeToLinear(codes, { encoding: 'pcma' }).buffer), decodeAlaw(codes), 'A-law decode');
  t.equal(linearToUlaw(0), 0xff);
  t.equal(linearToAlaw(0), 0xd5);
});

t.test('transcode: equal formats pass through; G.711 ↔ PCM keeps the samples', async (t) => {
  const codes = Buffer.from([0x00, 0x7e, 0x80, 0xff, 0x12]);
  t.equal(transcode(codes, { encoding: 'pcmu' }, { encoding: 'pcmu' }), codes, 'same buffer, untouched');
  const pcm8k = transcode(codes, { encoding: 'pcmu' }, { encoding: 'pcm', sampleRate: 8000 });
  t.same(transcode(pcm8k, { encoding: 'pcm', sampleRate: 8000 }, { encoding: 'pcmu' }), codes, 'round trip');
  const up = resampleLinear(new Int16Array([0, 300, 600]), 8000, 24000);
  t.equal(up.length, 9);
  t.same(Array.from(up.subarray(0, 7)), [0, 100, 200, 300, 400, 500, 600]);
  t.equal(resampleLinear(new Int16Array(480), 48000, 16000).length, 160);
  t.equal(encodeLinear(new Int16Array([1, -1]), { encoding: 'pcm', sampleRate: 16000 }).readInt16LE(2), -1);
});

t.test('energy VAD: a click is not speech; times are stream times', async (t) => {
  const rate = 8000;
  const vad = new EnergyVad({ sampleRate: rate, silenceDurationMs: 200, prefixPaddingMs: 50 });
  const click = new Int16Array(rate / 100).fill(20000); // one 10 ms window
  t.same(vad.push(new Int16Array(800)), []);
  t.same(vad.push(click), [], 'one loud window does not start speech');
  t.same(vad.push(new Int16Array(800)), []);
  const tone = new Int16Array(rate / 2).map((_, i) => Math.round(5000 * Math.sin(i / 3)));
  const events = [...vad.push(tone), ...vad.push(new Int16Array(rate))];
  // Tone starts at 210 ms (100 + 10 + 100), lasts 500 ms.
  t.same(events, [
    { kind: 'speech_started', startSample: (160 * rate) / 1000 },
    { kind: 'speech_stopped', startSample: (160 * rate) / 1000, endSample: (710 * rate) / 1000 },
  ]);
});

t.test('energy VAD: frames of any size and a reused buffer give the same events', async (t) => {
  const rate = 8000;
  const signal = new Int16Array(rate * 2).map((_, i) =>
    i > 3000 && i < 9000 ? Math.round(6000 * Math.sin(i / 5)) : 0,
  );
  const whole = new EnergyVad({ sampleRate: rate }).push(signal);
  const framed = new EnergyVad({ sampleRate: rate });
  const scratch = new Int16Array(173);
  const events: VadEvent[] = [];
  for (let at = 0; at < signal.length; at += 173) {
    const n = Math.min(173, signal.length - at);
    scratch.set(signal.subarray(at, at + n));
    events.push(...framed.push(scratch, n)); // 173: windows straddle the frames
  }
  t.equal(whole.length, 2);
  t.same(events, whole);
});

t.test('client events: the hand check of appends accepts and refuses what the schema does', async (t) => {
  const cases: unknown[] = [
    { type: 'input_audio_buffer.append', audio: 'AAA=' },
    { type: 'input_audio_buffer.append', audio: 'AAA=', event_id: 'e1', extra: { kept: true } },
    { type: 'input_audio_buffer.append', audio: 7 },
    { type: 'input_audio_buffer.append' },
    { type: 'input_audio_buffer.append', audio: '', event_id: 3 },
    { type: 'input_audio_buffer.append', audio: '', event_id: null },
    ['input_audio_buffer.append'],
    null,
    'input_audio_buffer.append',
  ];
  for (const json of cases) {
    const schema = clientEventSchema.safeParse(json);
    const ours = parseClientEvent(json);
    t.equal(ours.ok, schema.success, JSON.stringify(json));
    if (ours.ok && schema.success) t.same(ours.event, schema.data);
  }
});

t.test('server events: aliases, unknown and malformed input', async (t) => {
  t.match(
    parseServerMessage('{"type":"response.audio.delta","delta":"AAA=","item_id":"i","response_id":"r"}'),
    {
      kind: 'event',
      event: { type: 'response.output_audio.delta', delta: 'AAA=' },
    },
  );
  t.same(parseServerMessage('{"type":"grok.new_thing"}'), { kind: 'unknown', type: 'grok.new_thing' });
  t.match(parseServerMessage('nope'), { kind: 'malformed' });
  t.match(parseServerMessage('null'), { kind: 'malformed', reason: 'not a JSON object' });
  t.match(parseServerMessage('{"type":"response.done"}'), { kind: 'malformed', type: 'response.done' });
  t.match(parseServerMessage('{"type":"error","error":{"message":"x","code":null}}'), {
    kind: 'event',
    event: { type: 'error' },
  });
  t.same(
    formatFromSessionJson({ type: 'audio/pcm' }),
    { encoding: 'pcm', sampleRate: 24000 },
    'default rate',
  );
  t.throws(() => formatFromSessionJson({ type: 'audio/pcm', rate: 96000 }), RangeError);
  t.throws(() => formatFromSessionJson('pcmu'), TypeError);
});

t.test('error classification', async (t) => {
  t.match(classifyServerError({ message: 'Cancellation failed: no active response found' }), {
    fatal: false,
    benign: true,
  });
  t.match(classifyServerError({ message: 'x', code: 'response_cancel_not_active' }), {
    fatal: false,
    benign: true,
  });
  t.match(classifyServerError({ message: 'Invalid API key', type: 'invalid_request_error' }), {
    fatal: true,
  });
  t.match(classifyServerError({ message: 'x', type: 'authentication_error' }), { fatal: true });
  // The live service ends long sessions (error types timeout / max_duration): the call goes on
  // in a new session, so these are neither fatal nor benign.
  t.match(classifyServerError({ message: 'Session has expired' }), { fatal: false, sessionEnd: true });
  t.match(classifyServerError({ message: null, type: 'max_duration', code: null }), {
    fatal: false,
    benign: false,
    sessionEnd: true,
    message: 'max_duration',
  });
  t.match(classifyServerError({ message: '', type: 'timeout' }), { sessionEnd: true });
  t.match(
    classifyServerError({ message: null, type: null, code: null, param: null, event_id: null }),
    { fatal: false, benign: false, message: 'realtime error' },
    'an error whose every field is null is read, not dropped',
  );
  t.match(classifyServerError({ message: 'rate limited for a moment', type: 'server_error' }), {
    fatal: false,
    benign: false,
  });
  t.match(
    classifyServerError({ message: 'bad voice' }, true),
    { fatal: true },
    'any error during the handshake',
  );
});

t.test('standalone local agent: arguments, script file, serves a client', async (t) => {
  t.throws(() => parseLocalAgentArgs(['--mode', 'loud']), RangeError);
  t.throws(() => parseLocalAgentArgs(['--port', '70000']), RangeError);
  t.throws(() => parseLocalAgentArgs(['--bogus']), TypeError);
  const dir = mkdtempSync(join(tmpdir(), 'grok-sip-local-agent-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"turns":[{"kind":"dance"}]}');
  t.throws(() => parseLocalAgentArgs(['--script', bad]), TypeError);
  t.throws(() => parseLocalAgentArgs(['--script', join(dir, 'missing.json')]), TypeError);
  const good = join(dir, 'script.json');
  writeFileSync(good, JSON.stringify({ turns: [{ kind: 'say', text: 'scripted hello' }] }));
  t.match(parseLocalAgentArgs(['--script', good, '--burst-interval-ms', '0']), {
    mode: 'scripted',
    pacing: { burstIntervalMs: 0 },
  });

  const lines: string[] = [];
  const agent = await runLocalAgentCli(['--script', good, '--port', '0'], (line) => lines.push(line));
  t.teardown(() => agent.close());
  t.match(lines[0], /^local agent \(scripted\) listening on ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime$/);
  const session = await connectRealtime({
    url: agent.url,
    session: { inputFormat: { encoding: 'pcmu' }, outputFormat: { encoding: 'pcmu' } },
  });
  t.teardown(() => session.close());
  const said = new Promise((resolve) => session.on('transcript', (x) => x.final && resolve(x.text)));
  session.sendUserText('hi');
  t.equal(await said, 'scripted hello');
});

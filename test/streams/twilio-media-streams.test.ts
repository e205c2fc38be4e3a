// Twilio Media Streams calls end to end, with a Twilio stand-in written from Twilio's docs
// (support/twilio-client.ts) and the local agent: the voice webhook's signature, the spoken phrase
// echoed back through the call core, DTMF to the agent, barge-in (`clear` at once, truncation at
// the marks Twilio returned), transfer by the call-update API, and streams that break the
// protocol ending only their own call.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import { decodeUlaw } from '../../src/media/g711.js';
import type { ClientEvent } from '../../src/realtime/index.js';
import { samplesOf, segmentedCorrelation, trimSilence } from '../call/support/audio-compare.js';
import { phraseAudio } from './support/phrase-audio.js';
import { startStreamApp, waitFor, type StreamApp } from './support/stream-app.js';
import {
  parseConnectStream,
  postVoiceWebhook,
  signTwilio,
  TwilioStreamClient,
} from './support/twilio-client.js';

const httpPort = 34001;
const twilioApiPort = 34002;
const authToken = 'twilio-auth-token-for-tests';
const accountSid = 'AC00000000000000000000000000000000';
const publicUrl = `http://127.0.0.1:${httpPort}`;
const voiceUrl = `${publicUrl}/twilio/voice`;

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 34010 }]
media: { rtpAddress: 127.0.0.1, portMin: 34100, portMax: 34199, workers: 0 }
http: { address: 127.0.0.1, port: ${httpPort} }
streams:
  twilio:
    publicUrl: ${publicUrl}
    authToken: \${TWILIO_AUTH_TOKEN}
    accountSid: \${TWILIO_ACCOUNT_SID}
    apiBaseUrl: http://127.0.0.1:${twilioApiPort}
agents:
  default: assistant
  profiles:
    - name: assistant
      instructions: Help the caller.
      tools:
        - { type: end_call }
        - { type: transfer, targets: { sales: 'sip:sales@example.com' } }
    - { name: echo, instructions: Repeat what the caller says., audioFormat: auto }
  routes: [{ match: '+15550100', agent: echo }]
`,
  { TWILIO_AUTH_TOKEN: authToken, TWILIO_ACCOUNT_SID: accountSid },
);

const phrase = phraseAudio(t);
const phraseFrames = phrase.ulaw.length / 160;
let callCounter = 0;

/** The voice webhook as Twilio posts it, then the stream its TwiML names, started. */
async function placeCall(to: string): Promise<TwilioStreamClient> {
  const callSid = `CA${String(++callCounter).padStart(32, '0')}`;
  const params = {
    AccountSid: accountSid,
    CallSid: callSid,
    From: '+15550199',
    To: to,
    CallStatus: 'ringing',
    Direction: 'inbound',
  };
  const answer = await postVoiceWebhook(voiceUrl, params, signTwilio(authToken, voiceUrl, params));
  if (answer.status !== 200) throw new Error(`voice webhook answered ${answer.status}`);
  const { url, parameters } = parseConnectStream(answer.body);
  const client = new TwilioStreamClient({ streamUrl: url, callSid, parameters });
  await client.opened;
  client.start();
  return client;
}

function userTexts(events: readonly { event: ClientEvent }[]): string[] {
  return events.flatMap(({ event }) =>
    event.type === 'conversation.item.create' && event.item.type === 'message'
      ? [event.item.content.map((c) => c.text).join(' ')]
      : [],
  );
}

t.test('voice webhook: X-Twilio-Signature', async (t) => {
  await startStreamApp(t, config);
  const params = { AccountSid: accountSid, CallSid: 'CA1', From: '+15550199', To: '+15550100' };
  const good = await postVoiceWebhook(voiceUrl, params, signTwilio(authToken, voiceUrl, params));
  t.equal(good.status, 200, 'a correctly signed webhook is answered');
  t.match(
    good.body,
    /<Connect><Stream url="ws:\/\/127\.0\.0\.1:34001\/twilio\/stream">/,
    'TwiML connects a stream to us',
  );
  t.match(
    good.body,
    /<Parameter name="agent" value="echo"\/>/,
    'the called number chose the profile, passed as a Parameter',
  );
  const wrong = await postVoiceWebhook(voiceUrl, params, signTwilio('another-token', voiceUrl, params));
  t.equal(wrong.status, 403, 'a signature made with another token: 403');
  const tampered = await postVoiceWebhook(
    voiceUrl,
    { ...params, To: '+15550101' },
    signTwilio(authToken, voiceUrl, params),
  );
  t.equal(tampered.status, 403, 'a parameter changed after signing: 403');
  const missing = await postVoiceWebhook(voiceUrl, params, undefined);
  t.equal(missing.status, 403, 'no signature: 403');
  const huge = await postVoiceWebhook(voiceUrl, { ...params, Junk: 'x'.repeat(100_000) }, undefined);
  t.equal(huge.status, 413, 'a body over 64 KB: 413');
});

t.test('the phrase comes back through the echo agent (μ-law pass-through)', async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const client = await placeCall('+15550100');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  await client.silence(400);
  await client.speak(phrase.ulaw);
  let last = -1;
  for (
    let i = 0;
    i < 60 && (client.played.length < phraseFrames * 0.9 || client.played.length !== last);
    i++
  ) {
    last = client.played.length;
    await client.silence(200);
  }
  client.stop();
  await waitFor('the call record', () => records.length === 1);

  const sent = trimSilence(samplesOf(decodeUlaw(phrase.ulaw)));
  const echoed = trimSilence(samplesOf(decodeUlaw(Buffer.concat(client.played))));
  const padded = new Float64Array(sent.length + 8000);
  padded.set(sent, 4000);
  const { correlation, shifts } = segmentedCorrelation(padded, echoed);
  t.ok(
    correlation >= 0.99,
    `echo matches the phrase: correlation ${correlation.toFixed(4)} (shifts: ${shifts.length})`,
  );
  t.ok(
    echoed.length >= 0.9 * sent.length,
    `echo holds ${((100 * echoed.length) / sent.length).toFixed(1)} % of the phrase`,
  );
  t.ok(
    client.played.every((f) => f.length === 160),
    'every media message we sent is 20 ms of μ-law',
  );
  const record = records[0]!;
  t.equal(record.backend, 'twilio');
  t.equal(record.agent, 'echo', 'routed by the called number');
  t.equal(record.codec, 'PCMU');
  t.equal(record.apiFormat, 'pcmu', 'μ-law straight to the agent');
  t.equal(record.endReason, 'remote-bye', 'ended by the stop message');
  t.equal(record.turns, 1, 'one agent turn');
});

t.test('DTMF, barge-in and transfer', async (t) => {
  const requests: { url: string; auth: string; body: URLSearchParams }[] = [];
  const twilioApi = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({
        url: req.url ?? '',
        auth: req.headers.authorization ?? '',
        body: new URLSearchParams(body),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"sid":"CA","status":"in-progress"}');
    });
  });
  await new Promise<void>((resolve) => twilioApi.listen(twilioApiPort, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => twilioApi.close(resolve)));
  const { app, records }: StreamApp = await startStreamApp(t, config, { localAgent: { mode: 'scripted' } });
  const agent = app.localAgent!;

  await t.test('DTMF reaches the agent as text', async (t) => {
    const from = agent.received.length;
    const client = await placeCall('+15550123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    await client.silence(200);
    client.dtmf('5');
    client.dtmf('#');
    await client.silence(200);
    client.stop();
    await waitFor('the call record', () => records.length === 1);
    t.same(userTexts(agent.received.slice(from)), [
      '[The caller pressed the telephone key "5".]',
      '[The caller pressed the telephone key "#".]',
    ]);
    t.equal(records[0]!.dtmfDigits, 2, 'CDR counts two digits');
  });

  await t.test('barge-in: clear at once, truncation at the marks Twilio returned', async (t) => {
    const from = agent.received.length;
    const client = await placeCall('+15550123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    const startedAtMs = Date.now();
    agent.runStep({ kind: 'long_response', durationMs: 8000 });
    await client.silence(1500);
    await client.speak(phrase.ulaw.subarray(0, 8000));
    await waitFor('clear', () => client.clears.length > 0, 5000);
    await client.silence(300);
    client.stop();
    await waitFor('the call record', () => records.length === 2);

    const speech = agent.sent.find(
      (e) => e.type === 'input_audio_buffer.speech_started' && e.atMs > startedAtMs,
    );
    t.ok(speech, 'the agent heard the caller start speaking');
    const clearAt = client.received.find((r) => r.message.event === 'clear')!.atMs;
    const mediaBetween = client.received.filter(
      (r) => r.message.event === 'media' && r.atMs > speech!.atMs && r.atMs < clearAt,
    ).length;
    // As the SIP barge-in test counts RTP: one frame may already be on its way when the agent's
    // event is sent, and at most one more tick may pass before the clear goes out.
    t.ok(
      mediaBetween <= 2,
      `${mediaBetween} media message(s) between speech_started and clear: at most one tick's frame besides one in flight`,
    );
    const after = client.received.filter(
      (r) => r.message.event === 'media' && r.atMs > clearAt && r.atMs < clearAt + 1000,
    );
    t.equal(after.length, 0, 'no agent audio after the clear');

    const truncate = agent.received
      .slice(from)
      .find((e) => e.event.type === 'conversation.item.truncate')?.event;
    t.ok(truncate, 'conversation.item.truncate sent');
    if (truncate?.type === 'conversation.item.truncate') {
      const returned = client.marksReturned.map((m) => Number(m) * 20);
      t.ok(
        returned.slice(-2).includes(truncate.audio_end_ms),
        `truncated at ${truncate.audio_end_ms} ms: the last mark Twilio returned (${returned.slice(-2).join(' or ')} ms; ${client.clears[0]!.playedFrames * 20} ms played at the clear)`,
      );
    }
    t.equal(records[1]!.bargeIns, 1, 'CDR counts one barge-in');
  });

  await t.test('end_call: the whole farewell is heard, then we close the stream', async (t) => {
    const client = await placeCall('+15550123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    await client.silence(200);
    const doneBefore = agent.sent.filter((e) => e.type === 'response.done').length;
    agent.runStep({ kind: 'say', text: 'Goodbye!', durationMs: 1000 });
    await waitFor(
      'the farewell response',
      () => agent.sent.filter((e) => e.type === 'response.done').length > doneBefore,
    );
    agent.runStep({ kind: 'function_call', name: 'end_call', arguments: '{"reason":"caller said bye"}' });
    const closed = await client.closed;
    await waitFor('the call record', () => records.length === 3);
    t.equal(closed.code, 1000, 'we closed the stream (Twilio goes on to <Hangup/>)');
    t.ok(
      client.played.length >= 50,
      `Twilio played the whole 1 s farewell before the close: ${client.played.length} frames`,
    );
    t.equal(records[2]!.endReason, 'agent-hangup');
  });

  await t.test('transfer: the call-update API gets a <Dial>, the stream ends', async (t) => {
    const client = await placeCall('+15550123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    await client.silence(200);
    agent.runStep({ kind: 'function_call', name: 'transfer_call', arguments: '{"target":"sales"}' });
    const closed = await client.closed;
    await waitFor('the call record', () => records.length === 4);
    t.equal(requests.length, 1, 'one call-update request');
    const request = requests[0]!;
    t.equal(
      request.url,
      `/2010-04-01/Accounts/${accountSid}/Calls/${client.options.callSid}.json`,
      'POST to the call resource',
    );
    t.equal(
      request.auth,
      `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
      'HTTP Basic with the account SID and auth token',
    );
    t.match(
      request.body.get('Twiml'),
      /<Response><Dial><Sip>sip:sales@example\.com<\/Sip><\/Dial><\/Response>/,
      'TwiML dials the target',
    );
    t.equal(closed.code, 1000, 'we closed the stream');
    t.equal(records[3]!.endReason, 'transfer');
    t.equal(records[3]!.transferTarget, 'sip:sales@example.com');
  });
});

t.test('a stream that breaks the protocol ends only its own call', async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const good = await placeCall('+15550100');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  const goodTalk = good.silence(3000);
  // An event Twilio might add one day is not a protocol error: the call goes on.
  good.send({ event: 'someday', streamSid: 'MZ1', someday: { what: 'new' } });

  const badJson = await placeCall('+15550100');
  await badJson.silence(100);
  badJson.ws.send('{not json');
  const wrongOrder = new TwilioStreamClient({
    streamUrl: `ws://127.0.0.1:${httpPort}/twilio/stream`,
    callSid: 'CAx',
    parameters: {},
  });
  await wrongOrder.opened;
  wrongOrder.send({
    event: 'media',
    media: { track: 'inbound', chunk: '1', timestamp: '0', payload: 'AAAA' },
  });
  const noToken = new TwilioStreamClient({
    streamUrl: `ws://127.0.0.1:${httpPort}/twilio/stream`,
    callSid: 'CAy',
    parameters: { agent: 'echo' },
  });
  await noToken.opened;
  noToken.start();
  const flood = await placeCall('+15550100');
  await flood.silence(100);
  for (let i = 0; i < 400; i++)
    flood.send({
      event: 'media',
      media: {
        track: 'inbound',
        chunk: String(10 + i),
        timestamp: String(i * 20),
        payload: Buffer.alloc(160, 0xff).toString('base64'),
      },
    });

  for (const [name, client] of [
    ['bad JSON', badJson],
    ['media before start', wrongOrder],
    ['no token', noToken],
    ['flood', flood],
  ] as const) {
    const closed = await client.closed;
    t.equal(closed.code, 1008, `${name}: closed with 1008 (${closed.reason})`);
  }
  await goodTalk;
  t.equal(good.ws.readyState, good.ws.OPEN, 'the well-behaved stream (and its unknown event) is still up');
  good.stop();
  await waitFor('the records', () => records.length === 3);
  const byReason = records.map((r) => r.endReason).sort();
  t.same(
    byReason,
    ['remote-bye', 'stream-error', 'stream-error'],
    'the two started bad streams end with stream-error; the good one by its stop',
  );
});

t.test('drain: new calls are turned away, live streams end with shutdown', async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const client = await placeCall('+15550100');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  const talking = client.silence(1000);
  const drained = app.drain(200);
  const params = { AccountSid: accountSid, CallSid: 'CA-late', From: '+15550199', To: '+15550100' };
  const late = await postVoiceWebhook(voiceUrl, params, signTwilio(authToken, voiceUrl, params));
  t.match(late.body, /<Reject reason="busy"\/>/, 'a call while draining is rejected busy');
  await drained;
  await talking;
  const closed = await client.closed;
  t.equal(closed.code, 1000, 'we closed the live stream');
  t.equal(records[0]?.endReason, 'shutdown', 'its record says shutdown');
});

t.test('recording, transcript, call-event webhooks and metrics of a stream call', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'grok-sip-stream-records-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const posted: { event: string; cdr?: { backend: string } }[] = [];
  const hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posted.push(JSON.parse(body) as { event: string; cdr?: { backend: string } });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(34003, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => hooks.close(resolve)));
  const recorded = parseConfig(
    `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 34010 }]
media:
  rtpAddress: 127.0.0.1
  portMin: 34100
  portMax: 34199
  workers: 0
  recordings: { dir: '${dir}/rec' }
  transcripts: { dir: '${dir}/txt' }
http: { address: 127.0.0.1, port: ${httpPort} }
streams:
  twilio: { publicUrl: '${publicUrl}', authToken: '\${TWILIO_AUTH_TOKEN}' }
agents:
  default: echo
  profiles:
    - name: echo
      instructions: Repeat what the caller says.
      webhooks: [{ url: 'http://127.0.0.1:34003/events' }]
`,
    { TWILIO_AUTH_TOKEN: authToken },
  );
  const { app, records, url } = await startStreamApp(t, recorded);
  const client = await placeCall('+15550100');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  await client.silence(300);
  await client.speak(phrase.ulaw);
  for (let i = 0; i < 40 && client.played.length < phraseFrames * 0.9; i++) await client.silence(200);
  client.stop();
  await waitFor('the call record', () => records.length === 1);
  await waitFor('call.ended posted', () => posted.some((p) => p.event === 'call.ended'));

  const wav = path.join(dir, 'rec', `${client.options.callSid}.wav`);
  t.ok(existsSync(wav) && statSync(wav).size > 44 + 8000 * 4, 'a stereo WAV of the call, seconds long');
  t.ok(readdirSync(path.join(dir, 'txt')).length > 0, 'a transcript file');
  t.same(
    posted.map((p) => p.event).filter((e) => e.startsWith('call.')),
    ['call.started', 'call.answered', 'call.ended'],
    'call-event webhooks posted in order',
  );
  t.equal(
    posted.find((p) => p.event === 'call.ended')?.cdr?.backend,
    'twilio',
    'the posted CDR names the ingress',
  );
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /grok_sip_calls_total\{result="remote-bye"\} 1/, 'calls_total counts the stream call');
});

// Vonage Voice API WebSocket calls end to end, with a Vonage stand-in written from Vonage's docs
// (support/vonage-client.ts) and the local agent: signed answer and event webhooks (a wrong JWT
// gets 403), the spoken phrase echoed back at 16 kHz L16 with no resampling, DTMF to the agent,
// barge-in (clear at once, truncation at the notify events Vonage returned), and a stream that
// sends a wrong frame size ending only its own call. The app runs two call threads here (SIP calls
// would go there): stream calls still run on the main thread, beside the HTTP listener.
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import t from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import type { ClientEvent } from '../../src/realtime/index.js';
import { samplesOf, segmentedCorrelation, trimSilence } from '../call/support/audio-compare.js';
import { phraseAudio } from './support/phrase-audio.js';
import { startStreamApp, waitFor } from './support/stream-app.js';
import { signVonage, VonageStreamClient, webhook, websocketEndpoint } from './support/vonage-client.js';

const httpPort = 34201;
const vonageApiPort = 34202;
const applicationId = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const secret = 'vonage-signature-secret-for-tests';
const publicUrl = `http://127.0.0.1:${httpPort}`;

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 34210 }]
media: { rtpAddress: 127.0.0.1, portMin: 34300, portMax: 34399, workers: 2 }
http: { address: 127.0.0.1, port: ${httpPort} }
streams:
  vonage:
    publicUrl: ${publicUrl}
    signatureSecret: \${VONAGE_SIGNATURE_SECRET}
    applicationId: \${VONAGE_APPLICATION_ID}
    privateKey: \${VONAGE_PRIVATE_KEY}
    apiBaseUrl: http://127.0.0.1:${vonageApiPort}
agents:
  default: assistant
  profiles:
    - name: assistant
      instructions: Help the caller.
      tools: [{ type: send_dtmf }, { type: transfer, targets: { sales: 'sip:sales@example.com' } }]
    - { name: echo, instructions: Repeat what the caller says. }
  routes: [{ match: '447700900100', agent: echo }]
`,
  {
    VONAGE_SIGNATURE_SECRET: secret,
    VONAGE_APPLICATION_ID: applicationId,
    VONAGE_PRIVATE_KEY: privateKeyPem,
  },
);

const phrase = phraseAudio(t);
const phraseFrames = phrase.pcm16k.length / 640;
let callCounter = 0;

function answerUrl(to: string, uuid: string): string {
  const q = new URLSearchParams({ to, from: '447700900999', uuid, conversation_uuid: `CON-${uuid}` });
  return `${publicUrl}/vonage/answer?${q.toString()}`;
}

async function placeCall(to: string): Promise<VonageStreamClient> {
  const uuid = `00000000-0000-4000-8000-${String(++callCounter).padStart(12, '0')}`;
  const answer = await webhook('GET', answerUrl(to, uuid), '', signVonage(secret, ''));
  if (answer.status !== 200) throw new Error(`answer webhook answered ${answer.status}`);
  const client = new VonageStreamClient(websocketEndpoint(answer.body));
  await client.opened;
  client.connected();
  return client;
}

function userTexts(events: readonly { event: ClientEvent }[]): string[] {
  return events.flatMap(({ event }) =>
    event.type === 'conversation.item.create' && event.item.type === 'message'
      ? [event.item.content.map((c) => c.text).join(' ')]
      : [],
  );
}

t.test('signed webhooks and the NCCO', async (t) => {
  await startStreamApp(t, config);
  const url = answerUrl('447700900100', 'aaaaaaaa-0000-4000-8000-000000000001');
  const good = await webhook('GET', url, '', signVonage(secret, ''));
  t.equal(good.status, 200, 'a correctly signed answer webhook is answered');
  const endpoint = websocketEndpoint(good.body);
  t.equal(endpoint.uri, `ws://127.0.0.1:${httpPort}/vonage/stream`, 'NCCO connects a websocket to us');
  t.equal(endpoint['content-type'], 'audio/l16;rate=16000', 'L16 at 16 kHz');
  t.equal(endpoint.headers.agent, 'echo', 'the called number chose the profile, passed as a header');
  t.equal(
    (await webhook('GET', url, '', signVonage('another-secret', ''))).status,
    403,
    'JWT signed with another secret: 403',
  );
  t.equal((await webhook('GET', url, '', undefined)).status, 403, 'no JWT: 403');
  const event = JSON.stringify({ uuid: 'x', status: 'answered' });
  t.equal(
    (await webhook('POST', `${publicUrl}/vonage/events`, event, signVonage(secret, event))).status,
    204,
    'signed event webhook: 204',
  );
  const other = JSON.stringify({ uuid: 'x', status: 'completed' });
  t.equal(
    (await webhook('POST', `${publicUrl}/vonage/events`, other, signVonage(secret, event))).status,
    403,
    'a body that does not match payload_hash: 403',
  );
});

t.test('the phrase comes back through the echo agent (16 kHz L16, no resampling)', async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const client = await placeCall('447700900100');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  await client.silence(400);
  await client.speak(phrase.pcm16k);
  let last = -1;
  for (
    let i = 0;
    i < 60 && (client.played.length < phraseFrames * 0.9 || client.played.length !== last);
    i++
  ) {
    last = client.played.length;
    await client.silence(200);
  }
  client.hangup();
  await waitFor('the call record', () => records.length === 1);

  const sent = trimSilence(samplesOf(phrase.pcm16k));
  const echoed = trimSilence(samplesOf(Buffer.concat(client.played)));
  const padded = new Float64Array(sent.length + 16000);
  padded.set(sent, 8000);
  const { correlation, shifts } = segmentedCorrelation(padded, echoed, 4000, 1600);
  t.ok(
    correlation >= 0.99,
    `echo matches the phrase: correlation ${correlation.toFixed(4)} (shifts: ${shifts.length})`,
  );
  t.ok(
    echoed.length >= 0.9 * sent.length,
    `echo holds ${((100 * echoed.length) / sent.length).toFixed(1)} % of the phrase`,
  );
  t.ok(
    client.played.every((f) => f.length === 640),
    'every binary message we sent is 20 ms (640 bytes)',
  );
  const record = records[0]!;
  t.equal(record.backend, 'vonage');
  t.equal(record.agent, 'echo');
  t.equal(record.apiFormat, 'pcm16', 'PCM16 at 16 kHz straight to the agent');
  t.equal(record.endReason, 'remote-bye', 'ended by the caller (Vonage closed the socket)');
  t.equal(record.turns, 1, 'one agent turn');
});

t.test('8 kHz stream, pcm16 profile: the phrase comes back through the resampler both ways', async (t) => {
  const config8k = parseConfig(
    `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 34230 }]
media: { rtpAddress: 127.0.0.1, portMin: 34600, portMax: 34699, workers: 0 }
http: { address: 127.0.0.1, port: ${httpPort} }
streams:
  vonage: { publicUrl: '${publicUrl}', signatureSecret: '\${VONAGE_SIGNATURE_SECRET}', sampleRate: 8000 }
agents:
  default: echo16
  profiles: [{ name: echo16, instructions: Repeat what the caller says., audioFormat: pcm16 }]
`,
    { VONAGE_SIGNATURE_SECRET: secret },
  );
  const { app, records } = await startStreamApp(t, config8k);
  const client = await placeCall('447700900108');
  t.equal(client.endpoint['content-type'], 'audio/l16;rate=8000', 'the NCCO asks for 8 kHz');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  await client.silence(400);
  await client.speak(phrase.pcm8k);
  const frames = phrase.pcm8k.length / 320;
  let last = -1;
  for (let i = 0; i < 60 && (client.played.length < frames * 0.9 || client.played.length !== last); i++) {
    last = client.played.length;
    await client.silence(200);
  }
  client.hangup();
  await waitFor('the call record', () => records.length === 1);
  const sent = trimSilence(samplesOf(phrase.pcm8k));
  const echoed = trimSilence(samplesOf(Buffer.concat(client.played)));
  const padded = new Float64Array(sent.length + 8000);
  padded.set(sent, 4000);
  const { correlation } = segmentedCorrelation(padded, echoed);
  t.ok(correlation >= 0.99, `echo matches the phrase: correlation ${correlation.toFixed(4)}`);
  t.ok(
    echoed.length >= 0.9 * sent.length,
    `echo holds ${((100 * echoed.length) / sent.length).toFixed(1)} % of the phrase`,
  );
  t.ok(
    client.played.every((f) => f.length === 320),
    'every binary message we sent is 20 ms at 8 kHz (320 bytes)',
  );
  t.equal(records[0]!.apiFormat, 'pcm16', 'the agent spoke PCM at 16 kHz');
  t.equal(records[0]!.endReason, 'remote-bye');
});

t.test('DTMF, barge-in, and a wrong frame size', async (t) => {
  const { app, records } = await startStreamApp(t, config, { localAgent: { mode: 'scripted' } });
  const agent = app.localAgent!;

  await t.test('DTMF reaches the agent as text', async (t) => {
    const from = agent.received.length;
    const client = await placeCall('447700900123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    await client.silence(200);
    client.dtmf('7');
    await client.silence(200);
    client.hangup();
    await waitFor('the call record', () => records.length === 1);
    t.same(userTexts(agent.received.slice(from)), ['[The caller pressed the telephone key "7".]']);
  });

  await t.test('barge-in: clear at once, truncation at the notify events', async (t) => {
    const from = agent.received.length;
    const client = await placeCall('447700900123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    const startedAtMs = Date.now();
    agent.runStep({ kind: 'long_response', durationMs: 8000 });
    await client.silence(1500);
    await client.speak(phrase.pcm16k.subarray(0, 16000 * 2));
    await waitFor('clear', () => client.clears.length > 0, 5000);
    await client.silence(300);
    client.hangup();
    await waitFor('the call record', () => records.length === 2);

    const speech = agent.sent.find(
      (e) => e.type === 'input_audio_buffer.speech_started' && e.atMs > startedAtMs,
    );
    t.ok(speech, 'the agent heard the caller start speaking');
    const clearAt = client.clears[0]!.atMs;
    const framesBetween = client.received.filter(
      (r) => r.binary && r.atMs > speech!.atMs && r.atMs < clearAt,
    ).length;
    t.ok(
      framesBetween <= 2,
      `${framesBetween} frame(s) between speech_started and clear: at most one tick's frame besides one in flight`,
    );
    t.equal(
      client.received.filter((r) => r.binary && r.atMs > clearAt && r.atMs < clearAt + 1000).length,
      0,
      'no agent audio after the clear',
    );
    const truncate = agent.received
      .slice(from)
      .find((e) => e.event.type === 'conversation.item.truncate')?.event;
    t.ok(truncate, 'conversation.item.truncate sent');
    if (truncate?.type === 'conversation.item.truncate') {
      const returned = client.notifiesReturned.map((p) => (p as { frames: number }).frames * 20);
      t.ok(
        returned.slice(-2).includes(truncate.audio_end_ms),
        `truncated at ${truncate.audio_end_ms} ms: the last notify Vonage returned (${returned.slice(-2).join(' or ')} ms)`,
      );
    }
  });

  await t.test('send_dtmf and transfer: the Voice API under an application JWT', async (t) => {
    const requests: { method: string; url: string; auth: string; body: string }[] = [];
    const vonageApi = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          auth: req.headers.authorization ?? '',
          body,
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => vonageApi.listen(vonageApiPort, '127.0.0.1', resolve));
    t.teardown(() => new Promise((resolve) => vonageApi.close(resolve)));
    const client = await placeCall('447700900123');
    await waitFor('the agent session', () => agent.openConnections() === 1);
    await client.silence(200);
    agent.runStep({ kind: 'function_call', name: 'send_dtmf', arguments: '{"digits":"12#"}' });
    await waitFor('the DTMF request', () => requests.length === 1);
    const dtmf = requests.shift()!;
    t.equal(
      `${dtmf.method} ${dtmf.url}`,
      `PUT /v1/calls/${client.endpoint.headers.uuid}/dtmf`,
      'send_dtmf: PUT …/dtmf',
    );
    t.same(JSON.parse(dtmf.body), { digits: '12#' }, 'with the digits');
    agent.runStep({ kind: 'function_call', name: 'transfer_call', arguments: '{"target":"sales"}' });
    const closed = await client.closed;
    await waitFor('the call record', () => records.length === 3);
    t.equal(requests.length, 1, 'one modify-call request');
    const request = requests[0]!;
    t.equal(request.method, 'PUT');
    t.equal(request.url, `/v1/calls/${client.endpoint.headers.uuid}`, 'to the call leg');
    const [head, claims, signature] = request.auth.replace(/^Bearer /, '').split('.');
    t.equal(JSON.parse(Buffer.from(head!, 'base64url').toString()).alg, 'RS256');
    t.equal(JSON.parse(Buffer.from(claims!, 'base64url').toString()).application_id, applicationId);
    t.ok(
      createVerify('RSA-SHA256')
        .update(`${head}.${claims}`)
        .verify(keys.publicKey, Buffer.from(signature!, 'base64url')),
      "the JWT verifies with the application's public key",
    );
    t.same(JSON.parse(request.body), {
      action: 'transfer',
      destination: {
        type: 'ncco',
        ncco: [{ action: 'connect', endpoint: [{ type: 'sip', uri: 'sip:sales@example.com' }] }],
      },
    });
    t.equal(closed.code, 1000, 'we closed the stream');
    t.equal(records[2]!.endReason, 'transfer');
  });

  await t.test('a wrong frame size ends that call only', async (t) => {
    const good = await placeCall('447700900123');
    const bad = await placeCall('447700900123');
    await waitFor('two agent sessions', () => agent.openConnections() === 2);
    const goodTalk = good.silence(1000);
    bad.ws.send(Buffer.alloc(100), { binary: true });
    const closed = await bad.closed;
    t.equal(closed.code, 1008, `closed with 1008 (${closed.reason})`);
    await goodTalk;
    t.equal(good.ws.readyState, good.ws.OPEN, 'the other call is still up');
    good.hangup();
    await waitFor('the records', () => records.length === 5);
    t.same(
      records
        .slice(3)
        .map((r) => r.endReason)
        .sort(),
      ['remote-bye', 'stream-error'],
    );
  });
});

t.test('agent lost for good: beeps at 16 kHz, then we close the stream', async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const client = await placeCall('447700900123');
  await waitFor('the agent session', () => app.localAgent!.openConnections() === 1);
  const talking = client.silence(3000);
  // The agent's server goes away: the one reconnect fails.
  await app.localAgent!.close();
  const closed = await client.closed;
  await talking;
  await waitFor('the call record', () => records.length === 1);
  t.equal(closed.code, 1000, 'we closed the stream');
  t.ok(
    client.played.length >= 60,
    `the whole fallback prompt (60 frames) played first: ${client.played.length}`,
  );
  t.ok(
    client.played.every((f) => f.length === 640),
    'as 16 kHz frames',
  );
  t.equal(records[0]!.endReason, 'agent-failed');
});

// 100 concurrent Twilio streams, then 100 concurrent Vonage streams, each talking both ways
// through the local echo agent (the short version of `npm run bench streams`): every call is
// answered, hears its echo and ends clean by its caller; none breaks the protocol or loses audio.
import t, { type Test } from 'tap';
import { parseConfig } from '../../src/config/load-config.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { phraseAudio } from './support/phrase-audio.js';
import { startStreamApp, waitFor } from './support/stream-app.js';
import {
  parseConnectStream,
  postVoiceWebhook,
  signTwilio,
  TwilioStreamClient,
} from './support/twilio-client.js';
import { signVonage, VonageStreamClient, webhook, websocketEndpoint } from './support/vonage-client.js';

const streams = 100;
const httpPort = 34401;
const publicUrl = `http://127.0.0.1:${httpPort}`;
const authToken = 'concurrency-token';
const secret = 'concurrency-secret';

const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 34410 }]
media: { rtpAddress: 127.0.0.1, portMin: 34500, portMax: 34599, workers: 0 }
http: { address: 127.0.0.1, port: ${httpPort} }
streams:
  maxCalls: ${streams}
  twilio: { publicUrl: '${publicUrl}', authToken: '\${TWILIO_AUTH_TOKEN}' }
  vonage: { publicUrl: '${publicUrl}', signatureSecret: '\${VONAGE_SIGNATURE_SECRET}' }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat what the caller says. }]
`,
  { TWILIO_AUTH_TOKEN: authToken, VONAGE_SIGNATURE_SECRET: secret },
);

const phrase = phraseAudio(t);

function clean(t: Test, records: CallDetailRecord[], kind: string): void {
  t.equal(records.length, streams, `${streams} ${kind} call records`);
  t.same(
    [...new Set(records.map((r) => r.endReason))],
    ['remote-bye'],
    'every call ended by its caller (no stream-error, no agent failure)',
  );
  t.ok(
    records.every((r) => r.backend === kind && (r.media?.packetsOut ?? 0) > 0),
    'every caller heard the agent',
  );
  t.equal(
    records.reduce((n, r) => n + r.realtimeErrors + (r.media?.lost ?? 0), 0),
    0,
    'no realtime errors, no lost caller audio',
  );
}

t.test(`${streams} concurrent Twilio streams`, async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const voiceUrl = `${publicUrl}/twilio/voice`;
  const clients = await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const callSid = `CA${String(i).padStart(32, '0')}`;
      const params = { AccountSid: 'AC0', CallSid: callSid, From: '+15550199', To: '+15550100' };
      const answer = await postVoiceWebhook(voiceUrl, params, signTwilio(authToken, voiceUrl, params));
      const { url, parameters } = parseConnectStream(answer.body);
      const client = new TwilioStreamClient({ streamUrl: url, callSid, parameters });
      await client.opened;
      client.start();
      return client;
    }),
  );
  await waitFor('every agent session', () => app.localAgent!.openConnections() === streams, 30_000);
  await Promise.all(
    clients.map(async (c) => {
      await c.speak(phrase.ulaw.subarray(0, 12_000));
      for (let i = 0; i < 50 && c.played.length < 25; i++) await c.silence(200);
      c.stop();
    }),
  );
  await waitFor('every call record', () => records.length === streams, 30_000);
  clean(t, records, 'twilio');
});

t.test(`${streams} concurrent Vonage streams`, async (t) => {
  const { app, records } = await startStreamApp(t, config);
  const clients = await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const q = new URLSearchParams({ to: '447700900100', from: '447700900999', uuid: `uuid-${i}` });
      const answer = await webhook(
        'GET',
        `${publicUrl}/vonage/answer?${q.toString()}`,
        '',
        signVonage(secret, ''),
      );
      const client = new VonageStreamClient(websocketEndpoint(answer.body));
      await client.opened;
      client.connected();
      return client;
    }),
  );
  await waitFor('every agent session', () => app.localAgent!.openConnections() === streams, 30_000);
  await Promise.all(
    clients.map(async (c) => {
      await c.speak(phrase.pcm16k.subarray(0, 48_000));
      for (let i = 0; i < 50 && c.played.length < 25; i++) await c.silence(200);
      c.hangup();
    }),
  );
  await waitFor('every call record', () => records.length === streams, 30_000);
  clean(t, records, 'vonage');
});

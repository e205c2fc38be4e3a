// A profile's call-event webhooks against a real HTTP server: a SIPp call that presses 5 (RFC 4733)
// and 7 (INFO) produces call.started, call.answered, the two dtmf events, the agent's transcript
// and call.ended with the CDR, in order, with the configured header; a target that fails does
// not affect the call.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { startGrokSip } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { runSipp } from '../sip/support/run-peer.js';

t.test('call events posted in order', async (t) => {
  const received: { event: string; auth: string | undefined; body: Record<string, unknown> }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/broken') {
        res.writeHead(500).end();
        return;
      }
      const parsed = JSON.parse(body) as Record<string, unknown>;
      received.push({ event: String(parsed.event), auth: req.headers.authorization, body: parsed });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const app = await startGrokSip(
    parseConfig(
      `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: 19060 }] }
media: { rtpAddress: 127.0.0.1, portMin: 28300, portMax: 28399 }
agents:
  default: a
  profiles:
    - name: a
      instructions: x
      webhooks:
        - { url: '${base}/events', headers: { authorization: 'Bearer t0ken' } }
        - { url: '${base}/broken', events: [call.started, call.ended] }
`,
      {},
    ),
  );
  t.teardown(() => app.stop());
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (r) => records.push(r));
  const r = await runSipp(t, '127.0.0.1:19060', [
    '-sf',
    path.resolve('sip-config/sipp/uac_dtmf.xml'),
    '-s',
    'a',
    '-m',
    '1',
    '-p',
    '19065',
    '-mp',
    '28410',
  ]);
  t.equal(r.code, 0, 'the call completed although one webhook target fails');
  const until = Date.now() + 5000;
  while (received.at(-1)?.event !== 'call.ended' && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const events = received.map((e) => e.event);
  t.same(events.slice(0, 2), ['call.started', 'call.answered']);
  t.same(
    received.filter((e) => e.event === 'dtmf').map((e) => e.body.digit),
    ['5', '7'],
    'both key presses',
  );
  t.ok(events.includes('transcript'), 'the agent’s transcript');
  t.equal(events.at(-1), 'call.ended');
  t.match(received.at(-1)?.body, { cdr: { endReason: 'remote-bye', dtmfDigits: 2 } });
  t.ok(
    received.every((e) => e.auth === 'Bearer t0ken' && e.body.callId === records[0]?.callId),
    'every post carries the header and the call id',
  );
  t.match(received[0]?.body, { agent: 'a', dialledUser: 'a' });
});

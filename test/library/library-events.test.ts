// The library in this process (src/index.ts, what the package exports): typed events of an inbound
// call with DTMF (SIPp presses 5 as RFC 4733 and 7 as SIP INFO), and in-process tools: one that
// answers, one that throws (the model gets {"error": …}, the call goes on).
// Ports: SIP 37900, RTP 37910-37929, SIPp caller 37901 (media 37902).
import path from 'node:path';
import t from 'tap';
import { startGrokSip, type CallDetailRecord, type CallStarted, type Transcript } from '../../src/index.js';
import { runSipp } from '../sip/support/run-peer.js';

t.test('events and in-process tools on an inbound call', async (t) => {
  const calls: string[] = [];
  const grokSip = await startGrokSip({
    config: {
      sip: { listen: [{ transport: 'udp', address: '127.0.0.1', port: 37900 }] },
      media: { portMin: 37910, portMax: 37929 },
      agents: {
        profiles: [{ name: 'desk', instructions: 'Help.', greeting: 'Hello', audioFormat: 'auto' }],
        routes: [{ match: 'desk', agent: 'desk' }],
      },
    },
    env: {},
    tools: {
      order_status: {
        description: 'Status of an order',
        parameters: { type: 'object', properties: { id: { type: 'string' } } },
        handler: (args, call) => {
          calls.push(`${call.callId}:${String(args.id)}`);
          return { status: 'shipped' };
        },
      },
      broken: () => {
        throw new Error('database down');
      },
    },
    localAgent: {
      mode: 'scripted',
      script: {
        turns: [
          [
            { kind: 'function_call', name: 'order_status', arguments: '{"id":"A17"}' },
            { kind: 'function_call', name: 'broken' },
          ],
        ],
      },
    },
  });
  t.teardown(() => grokSip.stop());
  t.equal(grokSip.config.media.workers, 0, 'calls on the main thread by default');
  const seen = {
    started: [] as CallStarted[],
    transcripts: [] as Transcript[],
    digits: [] as string[],
    ended: [] as CallDetailRecord[],
  };
  grokSip.events.on('call-started', (c) => seen.started.push(c));
  grokSip.events.on('transcript', (tr) => seen.transcripts.push(tr));
  grokSip.events.on('dtmf', (d) => seen.digits.push(d.digit));
  grokSip.events.on('call-ended', (cdr) => seen.ended.push(cdr));
  const result = await runSipp(t, '127.0.0.1:37900', [
    '-sf',
    path.resolve('sip-config/sipp/uac_dtmf.xml'),
    '-s',
    'desk',
    '-p',
    '37901',
    '-mp',
    '37902',
    '-m',
    '1',
  ]);
  t.equal(result.code, 0, 'SIPp call completed');
  for (let i = 0; i < 100 && seen.ended.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  const started = seen.started[0];
  t.match(started, { direction: 'inbound', agent: 'desk', to: /desk/ });
  t.same(seen.digits, ['5', '7'], 'dtmf events: 5 (RFC 4733) and 7 (INFO)');
  t.ok(
    seen.transcripts.some((tr) => tr.role === 'agent'),
    'transcript events',
  );
  t.match(seen.ended[0], { callId: started?.callId, endReason: 'remote-bye', dtmfDigits: 2 });
  // The scripted agent reads each function result back (a transcript event): the throw became an error.
  const results = seen.transcripts.map((tr) => tr.text).filter((text) => text.includes('function result'));
  t.match(results.join('\n'), /"status":"shipped"/, "the tool's result reached the agent");
  t.match(results.join('\n'), /"error":"broken failed: database down"/, 'a throwing tool is an error result');
  t.same(calls, [`${started?.callId}:A17`], 'the tool ran once with its arguments and the call');
  t.same(grokSip.calls(), [], 'no live calls left');
  t.match(grokSip.call(started!.callId), { state: 'ended', cdr: { endReason: 'remote-bye' } });
});

// An INVITE through the embedded transport is parsed once, not twice (docs/embedded-sip.md G5),
// and the call carries the moment the datagram reached the transport, which setup time counts from.
import { performance } from 'node:perf_hooks';
import { Core } from 'sip.js';
import t from 'tap';
import type { IncomingCall } from '../../src/signaling/signaling-backend.js';
import { EmbeddedBackend } from '../../src/signaling/embedded/embedded-backend.js';
import { UdpPeer, offer, request, statusOf } from './support/raw-sip.js';

t.test('one parse per INVITE; the call knows when it arrived', async (t) => {
  // Counted under the handoff: installed before the first transport wraps parseMessage.
  const parser = Core.Parser as { parseMessage: typeof Core.Parser.parseMessage };
  const parse = parser.parseMessage;
  const parsedInvites: string[] = [];
  parser.parseMessage = (data, logger) => {
    if (data.startsWith('INVITE ')) parsedInvites.push(data);
    return parse(data, logger);
  };
  t.teardown(() => {
    parser.parseMessage = parse;
  });

  const backend = new EmbeddedBackend({
    listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }],
    maxCalls: 1,
    retryAfterSec: 5,
    userAgent: 'message-handoff.test',
    registrations: [],
  });
  await backend.start();
  t.teardown(() => backend.stop());
  const port = backend.port('udp')!;
  let handled: { call: IncomingCall; atMs: number } | undefined;
  backend.onIncomingCall((call) => {
    handled = { call, atMs: performance.now() };
    call.reject(486, 'Busy Here');
  });

  const peer = await UdpPeer.open(t);
  const sentAtMs = performance.now();
  peer.send(
    request(
      {
        method: 'INVITE',
        uri: `sip:echo@127.0.0.1:${port}`,
        branch: 'z9hG4bK-handoff-1',
        callId: 'handoff-1',
        cseq: 1,
        body: offer('g711'),
      },
      peer.port,
    ),
    port,
  );
  const [busy] = await peer.waitFor((m) => statusOf(m) === 486);
  t.ok(busy, '486 came back');
  t.equal(parsedInvites.length, 1, 'the INVITE was parsed once (the transport), sip.js took that parse');
  t.ok(handled !== undefined, 'the call reached the handler');
  const receivedAtMs = handled!.call.receivedAtMs;
  t.type(receivedAtMs, 'number', 'the call carries its arrival');
  t.ok(receivedAtMs! >= sentAtMs && receivedAtMs! <= handled!.atMs, 'between the send and the handler');
});

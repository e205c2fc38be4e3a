// Where a message goes (next-hop.ts, RFC 3261 §18, §26.2.2): the transport and default port of
// sips: URIs and ;transport=tls, through a Route and on a response's Via.
import t from 'tap';
import { requestHop, responseHop } from '../../src/signaling/embedded/next-hop.js';
import { parseVia } from '../../src/signaling/embedded/sip-message-text.js';

t.test('requests: sips: and ;transport=tls mean TLS, on 5061 unless the URI names a port', async (t) => {
  const hop = (ruri: string, route?: string) => {
    const { host, port, transport, sips } = requestHop(ruri, route, 'udp');
    return [host, port, transport, sips];
  };
  t.same(hop('sips:bob@pbx.example.test'), ['pbx.example.test', 5061, 'tls', true]);
  t.same(hop('sips:bob@192.0.2.1:5081'), ['192.0.2.1', 5081, 'tls', true]);
  t.same(hop('sip:bob@192.0.2.1;transport=tls'), ['192.0.2.1', 5061, 'tls', false]);
  t.same(hop('sip:bob@192.0.2.1;transport=TLS'), ['192.0.2.1', 5061, 'tls', false]);
  t.same(hop('sip:bob@192.0.2.1'), ['192.0.2.1', 5060, 'udp', false], 'plain sip: keeps the fallback');
  t.same(
    hop('sip:bob@192.0.2.1', '<sip:192.0.2.9:5071;transport=tls;lr>'),
    ['192.0.2.9', 5071, 'tls', false],
    'the first Route decides',
  );
  t.same(
    hop('sips:bob@192.0.2.1', '<sip:192.0.2.9;lr>'),
    ['192.0.2.9', 5061, 'tls', true],
    'a sips: Request-URI through a sip: Route without a transport: TLS to the Route (§26.2.2)',
  );
  t.same(
    hop('sips:bob@192.0.2.1', '<sip:192.0.2.9;lr;transport=tcp>'),
    ['192.0.2.9', 5060, 'tcp', true],
    'a Route that names its transport keeps it',
  );
});

t.test('responses: a TLS Via goes back over TLS, 5061 by default', async (t) => {
  const via = (text: string) => {
    const parsed = parseVia(text);
    if (parsed === null) throw new Error(`unparsed ${text}`);
    const { host, port, transport } = responseHop(parsed);
    return [host, port, transport];
  };
  t.same(via('SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1'), ['192.0.2.1', 5061, 'tls']);
  t.same(via('SIP/2.0/TLS 192.0.2.1:5071;branch=z9hG4bK1'), ['192.0.2.1', 5071, 'tls']);
  t.same(via('SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1;rport=40000;received=198.51.100.7'), [
    '198.51.100.7',
    40000,
    'tls',
  ]);
  t.same(via('SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1'), ['192.0.2.1', 5060, 'tcp']);
});

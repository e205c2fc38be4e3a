// Dialled user → agent profile: exact, then patterns in config order, then default, else 404.
import t from 'tap';
import { AgentRouter, dialledUser, uriUser } from '../../src/call/routing.js';
import { realtimeAudioFormat, type AgentProfile } from '../../src/call/agent-profile.js';
import { parseConfig } from '../../src/config/load-config.js';

const profile = (name: string): AgentProfile => ({
  name,
  voice: 'Ara',
  instructions: `you are ${name}`,
  tools: [],
  audioFormat: 'auto',
});
const [sales, support, fallback, vip] = ['sales', 'support', 'fallback', 'vip'].map(profile) as [
  AgentProfile,
  AgentProfile,
  AgentProfile,
  AgentProfile,
];

t.test('exact beats an earlier pattern; patterns in config order; default last', async (t) => {
  const router = new AgentRouter({
    default: 'fallback',
    profiles: [sales, support, fallback, vip],
    routes: [
      { match: '4*', agent: 'sales' },
      { match: '/^4\\d{2}9$/', agent: 'vip' },
      { match: '4009', agent: 'support' },
      { match: '4009', agent: 'vip' },
      { match: '/^\\+1/', agent: 'vip' },
    ],
  });
  t.equal(router.route('4009')?.name, 'support', 'exact wins over the earlier prefix; first exact rule wins');
  t.equal(router.route('4019')?.name, 'sales', 'prefix listed before the regex wins');
  t.equal(router.route('+14155551234')?.name, 'vip');
  t.equal(router.route('5000')?.name, 'fallback');
  t.equal(router.route(null)?.name, 'fallback', 'no user at all');
  t.equal(router.route('')?.name, 'fallback');
  t.equal(router.route('4'.repeat(300))?.name, 'fallback', 'absurdly long users match no pattern');
});

t.test('"*" matches anything; no default → null (404)', async (t) => {
  const any = new AgentRouter({ profiles: [sales], routes: [{ match: '*', agent: 'sales' }] });
  t.equal(any.route('whatever')?.name, 'sales');
  const none = new AgentRouter({ profiles: [sales], routes: [{ match: '4000', agent: 'sales' }] });
  t.equal(none.route('4000')?.name, 'sales');
  t.equal(none.route('4001'), null);
  t.equal(none.route(null), null);
});

t.test('exact matching is case-sensitive (RFC 3261 19.1.4)', async (t) => {
  const router = new AgentRouter({ profiles: [sales], routes: [{ match: 'Sales', agent: 'sales' }] });
  t.equal(router.route('Sales')?.name, 'sales');
  t.equal(router.route('sales'), null);
});

t.test('bad tables throw at construction', async (t) => {
  t.throws(
    () => new AgentRouter({ profiles: [sales], routes: [{ match: '1', agent: 'nobody' }] }),
    new TypeError('route target "nobody" is not an agent profile'),
  );
  t.throws(() => new AgentRouter({ default: 'nobody', profiles: [sales], routes: [] }), TypeError);
  t.throws(
    () => new AgentRouter({ profiles: [sales], routes: [{ match: '/[/', agent: 'sales' }] }),
    SyntaxError,
  );
});

t.test('uriUser and dialledUser', async (t) => {
  const cases: [string, string | null][] = [
    ['sip:4000@10.0.0.2:5060', '4000'],
    ['sips:4000@pbx.example.com;transport=tcp', '4000'],
    ['SIP:echo@127.0.0.1', 'echo'],
    ['"Alice" <sip:alice@example.com>;tag=1928301774', 'alice'],
    ['<sip:+14155551234;phone-context=example.com@gw.example.com;user=phone>', '+14155551234'],
    ['sip:bob:secret@example.com', 'bob'],
    ['sip:%34000@example.com', '4000'],
    ['tel:+14155551234;phone-context=+1', '+14155551234'],
    ['sip:10.0.0.2:5060', null],
    ['sip:10.0.0.2;transport=udp', null],
    ['sip:%zz@example.com', null],
    ['mailto:a@b', null],
    ['', null],
  ];
  for (const [uri, user] of cases) t.equal(uriUser(uri), user, uri);
  t.equal(dialledUser('sip:4000@h', '<sip:5000@h>'), '4000', 'Request-URI first');
  t.equal(dialledUser('sip:h', '<sip:5000@h>;tag=x'), '5000', 'To when the Request-URI has no user');
  t.equal(dialledUser('sip:h'), null);
});

t.test('routing built from the shipped config', async (t) => {
  const config = parseConfig(
    'agents:\n  default: assistant\n  profiles:\n    - { name: assistant, instructions: hi }\n    - { name: echo, instructions: echo, audioFormat: pcm16 }\n  routes:\n    - { match: echo, agent: echo }\n    - { match: "/^9\\\\d+$/", agent: echo }\n',
    {},
  );
  const router = new AgentRouter(config.agents);
  t.equal(router.route(dialledUser('sip:echo@127.0.0.1:5060'))?.name, 'echo');
  t.equal(router.route('9123')?.name, 'echo');
  t.equal(router.route('9x')?.name, 'assistant');
  t.equal(router.route('1000')?.name, 'assistant');
  t.equal(realtimeAudioFormat(router.route('echo')!, 'PCMU'), 'pcm16');
  t.equal(realtimeAudioFormat(router.route('1000')!, 'PCMA'), 'pcma', 'auto passes the call codec through');
  t.equal(realtimeAudioFormat(router.route('1000')!, 'PCMU'), 'pcmu');
});

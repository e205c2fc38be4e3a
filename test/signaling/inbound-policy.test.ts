// Trunk allow-list and digest challenge: RFC 2617/7616 vectors, sip.js as the real client.
import t from 'tap';
import { Grammar, DigestAuthentication, type LoggerFactory } from 'sip.js/lib/core/index.js';
import { DigestServer, digestResponse, parseDigestHeader } from '../../src/signaling/digest-auth.js';
import { InboundPolicy, parseCidr } from '../../src/signaling/inbound-policy.js';

const secret = Buffer.alloc(32, 7);
const users = [{ username: 'pbx', password: 'trunk-pass' }];
const uri = 'sip:4000@10.0.0.2:5060';

/** sip.js's own digest client answering our challenge, as a registering/calling UA would. */
function sipjsAuthorization(
  wwwAuthenticate: string,
  username: string,
  password: string,
  method = 'INVITE',
): string {
  const challenge = Grammar.parse(wwwAuthenticate, 'WWW_Authenticate') as unknown;
  if (challenge === -1) throw new Error(`sip.js could not parse ${wwwAuthenticate}`);
  const silent = {
    getLogger: () => ({ warn: () => undefined, log: () => undefined, debug: () => undefined }),
  };
  const client = new DigestAuthentication(silent as unknown as LoggerFactory, undefined, username, password);
  const request = { method, ruri: uri } as unknown as Parameters<DigestAuthentication['authenticate']>[0];
  if (!client.authenticate(request, challenge)) throw new Error('sip.js refused the challenge');
  return client.toString();
}

t.test('RFC 2617 §3.5 example (with the errata response) and RFC 7616 §3.9.1 MD5 example', async (t) => {
  t.equal(
    digestResponse({
      username: 'Mufasa',
      realm: 'testrealm@host.com',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    }),
    '6629fae49393a05397450978507c4ef1',
  );
  t.equal(
    digestResponse({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      password: 'Circle of Life',
      method: 'GET',
      uri: '/dir/index.html',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      qop: 'auth',
      nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    }),
    '8ca523f5e9506fed4657c9700eebdbec',
  );
});

t.test('parseDigestHeader: quoted, unquoted, escapes; rejects junk', async (t) => {
  const p = parseDigestHeader('Digest username="a\\"b", realm="r", nc=00000001, qop=auth,uri="sip:x@y"');
  t.same(Object.fromEntries(p!), {
    username: 'a"b',
    realm: 'r',
    nc: '00000001',
    qop: 'auth',
    uri: 'sip:x@y',
  });
  t.equal(parseDigestHeader('Basic dXNlcjpwYXNz'), null);
  t.equal(parseDigestHeader('Digest '), null);
  t.equal(parseDigestHeader('Digest realm="r" garbage'), null);
  t.equal(parseDigestHeader('Digest realm="r", realm="s"'), null, 'duplicate directive');
  t.equal(parseDigestHeader(`Digest realm="${'x'.repeat(5000)}"`), null, 'oversized');
});

t.test('challenge → sip.js answers → accept', async (t) => {
  const server = new DigestServer({ realm: 'grok-sip', secret }, users);
  const now = 1_700_000_000_000;
  const first = server.verify({ method: 'INVITE', uri, sourceAddress: '10.0.0.9', nowMs: now });
  t.equal(first.result, 'challenge');
  if (first.result !== 'challenge') return;
  t.equal(first.reason, 'no-credentials');
  t.match(
    first.wwwAuthenticate,
    /^Digest realm="grok-sip", nonce="[0-9a-f]+\.[\w-]{32}", qop="auth", algorithm=MD5$/,
  );
  const authorization = sipjsAuthorization(first.wwwAuthenticate, 'pbx', 'trunk-pass');
  t.same(
    server.verify({ method: 'INVITE', uri, authorization, sourceAddress: '10.0.0.9', nowMs: now + 1000 }),
    {
      result: 'accept',
      username: 'pbx',
    },
  );
});

t.test(
  'failures re-challenge with the right reason; stale=true only for a valid digest on an old nonce',
  async (t) => {
    const server = new DigestServer({ realm: 'grok-sip', secret, nonceTtlSec: 60 }, users);
    const now = 1_700_000_000_000;
    const wwwAuthenticate = server.challenge('10.0.0.9', now);
    const good = sipjsAuthorization(wwwAuthenticate, 'pbx', 'trunk-pass');
    const reasonOf = (r: ReturnType<DigestServer['verify']>): string =>
      r.result === 'accept' ? 'accept' : r.reason;
    const verify = (over: Partial<Parameters<DigestServer['verify']>[0]>) =>
      server.verify({
        method: 'INVITE',
        uri,
        authorization: good,
        sourceAddress: '10.0.0.9',
        nowMs: now,
        ...over,
      });

    t.equal(reasonOf(verify({})), 'accept');
    t.equal(
      reasonOf(verify({ authorization: sipjsAuthorization(wwwAuthenticate, 'pbx', 'wrong') })),
      'bad-response',
    );
    t.equal(
      reasonOf(verify({ authorization: sipjsAuthorization(wwwAuthenticate, 'eve', 'x') })),
      'unknown-user',
    );
    t.equal(reasonOf(verify({ method: 'BYE' })), 'bad-response', 'method is part of HA2');
    t.equal(
      reasonOf(verify({ uri: 'sip:5000@10.0.0.2:5060' })),
      'malformed',
      'uri directive must match the R-URI',
    );
    t.equal(reasonOf(verify({ sourceAddress: '10.0.0.10' })), 'bad-nonce', 'nonce is bound to the source');
    t.equal(
      reasonOf(verify({ authorization: good.replace(/nonce="[^"]+"/, 'nonce="abc.def"') })),
      'bad-nonce',
    );
    t.equal(
      reasonOf(verify({ authorization: good.replace('realm="grok-sip"', 'realm="other"') })),
      'malformed',
    );
    t.equal(reasonOf(verify({ authorization: 'Digest nonsense' })), 'malformed');
    t.equal(reasonOf(verify({ nowMs: now - 60_000 })), 'bad-nonce', 'nonce from the future');

    const late = verify({ nowMs: now + 61_000 });
    t.equal(reasonOf(late), 'stale-nonce');
    if (late.result === 'challenge') t.match(late.wwwAuthenticate, /, stale=true$/);
    const lateWrong = verify({
      nowMs: now + 61_000,
      authorization: sipjsAuthorization(wwwAuthenticate, 'pbx', 'wrong'),
    });
    t.equal(reasonOf(lateWrong), 'bad-response', 'a wrong password is never "stale"');
    if (lateWrong.result === 'challenge') t.notMatch(lateWrong.wwwAuthenticate, /stale/);
  },
);

t.test('RFC 2069 style (no qop) is accepted', async (t) => {
  const server = new DigestServer({ realm: 'grok-sip', secret }, users);
  const now = 1_700_000_000_000;
  const nonce = /nonce="([^"]+)"/.exec(server.challenge('', now))![1]!;
  const response = digestResponse({
    username: 'pbx',
    realm: 'grok-sip',
    password: 'trunk-pass',
    method: 'INVITE',
    uri,
    nonce,
  });
  const authorization = `Digest username="pbx", realm="grok-sip", nonce="${nonce}", uri="${uri}", response="${response}"`;
  t.equal(server.verify({ method: 'INVITE', uri, authorization, nowMs: now }).result, 'accept');
});

t.test('DigestServer rejects bad options', async (t) => {
  t.throws(() => new DigestServer({ realm: '', secret }, users), TypeError);
  t.throws(() => new DigestServer({ realm: 'a"b', secret }, users), TypeError);
  t.throws(() => new DigestServer({ realm: 'r', secret: Buffer.alloc(4) }, users), {
    message: 'digest nonce secret must be at least 16 bytes',
  });
  t.throws(() => new DigestServer({ realm: 'r', secret, nonceTtlSec: 0 }, users), RangeError);
});

t.test('parseCidr', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
  t.same(parseCidr('192.0.2.7'), { address: '192.0.2.7', prefix: 32, family: 'ipv4' });
  t.throws(
    () => parseCidr('10.0.0.0/33'),
    new TypeError('"10.0.0.0/33" has a bad prefix length (IPv4: 0–32)'),
  );
  t.throws(() => parseCidr('::/129'), new TypeError('"::/129" has a bad prefix length (IPv6: 0–128)'));
  t.throws(() => parseCidr('10.0.0/8'), new TypeError('"10.0.0/8" is not an IP address or CIDR'));
  t.throws(() => parseCidr('10.0.0.0/8/1'), new TypeError('"10.0.0.0/8/1" is not an IP address or CIDR'));
  t.throws(() => parseCidr('10.0.0.0/x'), TypeError);
});

t.test('allow-list: IPv4, IPv6, IPv4-mapped, drop vs 403', async (t) => {
  const policy = new InboundPolicy({ allow: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'], onReject: 'drop' });
  const decide = (sourceAddress: string, method = 'INVITE') => policy.decide({ sourceAddress, method, uri });
  t.equal(decide('10.1.2.3'), 'accept');
  t.equal(decide('::ffff:10.1.2.3'), 'accept', 'dual-stack socket form');
  t.equal(decide('2001:db8:1::5'), 'accept');
  t.equal(decide('192.0.2.7'), 'accept');
  t.equal(decide('192.0.2.8'), 'drop');
  t.equal(decide('11.0.0.1', 'OPTIONS'), 'drop', 'every method, not only INVITE');
  t.equal(decide('2001:db9::1'), 'drop');
  t.equal(decide('not-an-address'), 'drop');
  const loud = new InboundPolicy({ allow: ['127.0.0.0/8'], onReject: '403' });
  t.same(loud.decide({ sourceAddress: '10.0.0.1', method: 'INVITE', uri }), { status: 403 });
  const open = new InboundPolicy({ allow: [], onReject: 'drop' });
  t.equal(
    open.decide({ sourceAddress: '203.0.113.9', method: 'INVITE', uri }),
    'accept',
    'empty list = anyone',
  );
  const any = new InboundPolicy({ allow: ['0.0.0.0/0', '::/0'], onReject: 'drop' });
  t.equal(any.decide({ sourceAddress: '203.0.113.9', method: 'INVITE', uri }), 'accept');
  t.equal(any.decide({ sourceAddress: '2001:db8::9', method: 'INVITE', uri }), 'accept');
  t.throws(() => new InboundPolicy({ allow: ['10.0.0.0/40'], onReject: 'drop' }), TypeError);
});

t.test('digest on INVITE only, after the allow-list', async (t) => {
  const policy = new InboundPolicy({
    allow: ['127.0.0.0/8'],
    onReject: 'drop',
    digest: { realm: 'grok-sip', users, secret },
  });
  t.equal(policy.decide({ sourceAddress: '10.0.0.1', method: 'INVITE', uri }), 'drop', 'allow-list first');
  t.equal(policy.decide({ sourceAddress: '127.0.0.1', method: 'OPTIONS', uri }), 'accept');
  t.equal(policy.decide({ sourceAddress: '127.0.0.1', method: 'ACK', uri }), 'accept');
  const challenged = policy.decide({ sourceAddress: '127.0.0.1', method: 'INVITE', uri });
  if (typeof challenged !== 'object' || challenged.status !== 401) {
    t.fail(`expected a 401, got ${JSON.stringify(challenged)}`);
    return;
  }
  t.equal(challenged.reason, 'no-credentials');
  const authorization = sipjsAuthorization(challenged.wwwAuthenticate, 'pbx', 'trunk-pass');
  t.equal(
    policy.decide({ sourceAddress: '::ffff:127.0.0.1', method: 'INVITE', uri, authorization }),
    'accept',
  );
});

t.test('the config section is the policy options', async (t) => {
  const { parseConfig } = await import('../../src/config/load-config.js');
  const config = parseConfig(
    'sip:\n  inbound:\n    allow: [127.0.0.0/8]\n    onReject: 403\n    digest: { realm: grok-sip, users: [{ username: pbx, password: "${PW}" }] }\nagents:\n  profiles: [{ name: a, instructions: x }]\n',
    { PW: 'trunk-pass' },
  );
  const policy = new InboundPolicy(config.sip.inbound);
  t.same(policy.decide({ sourceAddress: '10.0.0.1', method: 'INVITE', uri }), { status: 403 });
  const challenged = policy.decide({ sourceAddress: '127.0.0.1', method: 'INVITE', uri });
  t.equal(typeof challenged === 'object' && challenged.status, 401);
  if (typeof challenged === 'object' && challenged.status === 401) {
    const authorization = sipjsAuthorization(challenged.wwwAuthenticate, 'pbx', 'trunk-pass');
    t.equal(policy.decide({ sourceAddress: '127.0.0.1', method: 'INVITE', uri, authorization }), 'accept');
  }
});

// trunks: in the config (issue 18): what a trunk needs and how a call's INVITE is made from it.
// Each bad trunk is one problem line naming the field; passwords come from ${ENV} and are masked.
import t from 'tap';
import { resolveTrunks, trunkInvite } from '../../src/app/trunks.js';
import { ConfigError, maskSecrets, parseConfig } from '../../src/config/load-config.js';

const agents = `agents: { profiles: [{ name: a, instructions: x }], routes: [] }`;

function problems(yamlText: string, env: Record<string, string> = {}): readonly string[] {
  try {
    parseConfig(`${agents}\n${yamlText}`, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('a trunk needs exactly one of proxy and registration, and credentials in pairs', async (t) => {
  t.match(problems('trunks: [{ name: a }]'), [/^trunks\[0\]\.proxy: .*either proxy or registration/]);
  t.match(problems('trunks: [{ name: a, proxy: "sip:h", registration: "sip:b@h" }]'), [
    /either proxy or registration/,
  ]);
  t.match(problems('trunks: [{ name: a, proxy: "sip:h", username: u }]'), [
    /^trunks\[0\]\.password: .*together/,
  ]);
  t.match(problems('trunks: [{ name: a, proxy: "http://h" }]'), [/^trunks\[0\]\.proxy: .*sip: or sips: URI/]);
  t.match(problems('trunks: [{ name: "a b", proxy: "sip:h" }]'), [/^trunks\[0\]\.name: /]);
  t.match(problems('trunks: [{ name: a, proxy: "sip:h", maxCalls: 0 }]'), [/^trunks\[0\]\.maxCalls: /]);
  t.match(problems('trunks: [{ name: a, proxy: "sip:h" }, { name: a, proxy: "sip:g" }]'), [
    /^trunks\[1\]\.name: .*no other trunk/,
  ]);
  t.match(problems('trunks: [{ name: a, registration: "sip:bot@pbx" }]'), [
    /^trunks\[0\]\.registration: .*sip\.registrations \(none configured\)/,
  ]);
  t.match(problems('trunks: [{ name: a, proxy: "sip:h", username: u, password: "${NOPE}" }]'), [
    /trunks\[0\]\.password: environment variable NOPE is not set/,
  ]);
});

t.test('a proxy trunk: numbers become users at its host, URIs keep it as Route', async (t) => {
  const config = parseConfig(
    `${agents}
trunks:
  - { name: c, proxy: "sip:carrier.example.com:5080", transport: tcp, username: u, password: "\${PW}", fromUser: "+15550100", fromDomain: example.com, ringTimeoutSec: 30 }
`,
    { PW: 'secret' },
  );
  t.match(JSON.stringify(maskSecrets(config)), /"password":"\*\*\*"/, 'masked when printed');
  t.notMatch(JSON.stringify(maskSecrets(config)), /secret/);
  const trunk = resolveTrunks(config).get('c')!;
  const byNumber = trunkInvite(trunk, '+15551234');
  t.equal(byNumber.target, 'sip:+15551234@carrier.example.com:5080;transport=tcp');
  t.same(byNumber.invite, {
    timeoutMs: 30_000,
    fromUser: '+15550100',
    fromDomain: 'example.com',
    credentials: { username: 'u', password: 'secret' },
  });
  const byUri = trunkInvite(trunk, 'sip:bob@other.example.net', { fromUser: '200', ringTimeoutSec: 90 });
  t.equal(byUri.target, 'sip:bob@other.example.net');
  t.equal(byUri.invite.route, 'sip:carrier.example.com:5080;transport=tcp');
  t.equal(byUri.invite.fromUser, '200', "the request's from wins");
  t.equal(byUri.invite.timeoutMs, 30_000, "a request cannot ring longer than the trunk's ringTimeoutSec");
});

t.test('a registration as trunk: its registrar, credentials and AOR', async (t) => {
  const config = parseConfig(
    `${agents}
sip:
  registrations: [{ aor: "sip:bot@pbx.example.com", registrar: "sip:10.0.0.5:5060", username: botuser, password: "\${PW}" }]
trunks: [{ name: pbx, registration: "sip:bot@pbx.example.com" }]
`,
    { PW: 'botpass' },
  );
  const trunk = resolveTrunks(config).get('pbx')!;
  t.match(trunk, {
    proxy: 'sip:10.0.0.5:5060',
    credentials: { username: 'botuser', password: 'botpass' },
    fromUser: 'bot',
    fromDomain: 'pbx.example.com',
  });
  t.equal(trunkInvite(trunk, '4000').target, 'sip:4000@10.0.0.5:5060');
});

// The config loader: the shipped file, each kind of error message, env references, masking.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, maskSecrets, parseConfig } from '../../src/config/load-config.js';

const shipped = new URL('../../sip-config/grok-sip.yaml', import.meta.url);
const minimal = 'agents:\n  profiles:\n    - { name: a, instructions: hi }\n';

/** The problem lines of a ConfigError thrown by parseConfig. */
function problems(yamlText: string, env: Record<string, string> = {}): readonly string[] {
  try {
    parseConfig(yamlText, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('the shipped file parses to the documented defaults', async (t) => {
  const config = loadConfig(shipped.pathname, {});
  t.same(config.sip.listen, [
    { transport: 'udp', address: '127.0.0.1', port: 5060 },
    { transport: 'tcp', address: '127.0.0.1', port: 5060 },
  ]);
  t.equal(config.sip.backend, 'embedded');
  t.equal(config.sip.maxCalls, 100);
  t.same(config.sip.inbound, { allow: ['0.0.0.0/0', '::/0'], onReject: 'drop' });
  t.same(config.media.codecs, ['PCMU', 'PCMA']);
  t.equal(config.media.portMin, 40000);
  t.equal(config.media.portMax, 40999);
  t.same(config.media.jitter, { minDelayMs: 20, maxDelayMs: 200, lateCostMs: 6.5 });
  t.equal(config.media.rtpTimeoutSec, 30);
  t.equal(config.realtime.url, 'wss://api.x.ai/v1/realtime');
  t.equal(config.realtime.apiKey, undefined, 'no key → local agent');
  t.same(config.realtime.localAgent, { mode: 'echo' });
  t.equal(config.agents.default, 'assistant');
  t.same(
    config.agents.profiles.map((p) => p.name),
    ['assistant', 'echo'],
  );
  t.same(config.agents.profiles[0]?.tools, [{ type: 'end_call' }]);
  t.same(config.http, { address: '127.0.0.1', port: 9090 });
  t.equal(config.shutdown.drainTimeoutSec, 30);
});

t.test('an almost empty file gets every default, and it is the same as the shipped one', async (t) => {
  const config = parseConfig(minimal, {});
  const fromShipped = loadConfig(shipped.pathname, {});
  t.same(config.sip, fromShipped.sip);
  t.same(config.media, fromShipped.media);
  t.same(config.realtime, fromShipped.realtime);
  t.same(config.http, fromShipped.http);
  t.same(config.agents.profiles[0], {
    name: 'a',
    voice: 'Ara',
    instructions: 'hi',
    tools: [],
    audioFormat: 'auto',
    transcription: { model: 'grok-transcribe' },
  });
  t.same(config.agents.routes, []);
});

t.test('the result is frozen all the way down', async (t) => {
  const config = parseConfig(minimal, {});
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(config.sip.listen[0]));
  t.throws(() => {
    (config.media as { portMin: number }).portMin = 1;
  }, TypeError);
});

t.test('error messages name the key path, the bad value and what is allowed', async (t) => {
  const cases: [string, string][] = [
    [
      'sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 70000 }\n',
      'sip.listen[0].port: 70000 is not valid — expected an integer 1–65535',
    ],
    [
      'sip:\n  listen:\n    - { transport: sctp, address: 127.0.0.1, port: 5060 }\n',
      'sip.listen[0].transport: "sctp" is not valid — expected udp, tcp or tls',
    ],
    [
      'sip:\n  listen:\n    - { transport: tls, address: 127.0.0.1, port: 5061, key: k.pem }\n',
      'sip.listen[0].cert: missing — expected a non-empty string',
    ],
    [
      'sip:\n  registrations: [{ aor: sip:bot@pbx.example.test, registrar: sips:pbx.example.test }]\n',
      'sip.registrations[0].registrar: "sips:pbx.example.test" is not valid — expected a tls listener in sip.listen for a registrar over TLS (TLS connects out from it)',
    ],
    [
      'trunks:\n  - { name: secure, proxy: "sip:pbx.example.test", transport: tls }\n',
      'trunks[0].transport: "tls" is not valid — expected a tls listener in sip.listen for a trunk over TLS (TLS connects out from it)',
    ],
    ['sip:\n  backend: kamailio\n', 'sip.backend: "kamailio" is not valid — expected embedded or drachtio'],
    [
      'sip:\n  backend: drachtio\n',
      'sip.drachtio: missing — expected a drachtio section when backend is drachtio',
    ],
    ['sip:\n  maxCalls: 2.5\n', 'sip.maxCalls: 2.5 is not valid — expected an integer 1–100000'],
    ['sip:\n  maxCalls: "10"\n', 'sip.maxCalls: "10" is not valid — expected an integer 1–100000'],
    [
      'sip:\n  inbound:\n    allow: [10.0.0.0/33]\n',
      'sip.inbound.allow[0]: "10.0.0.0/33" is not valid — expected an IP address or CIDR like 10.0.0.0/8',
    ],
    [
      'sip:\n  inbound:\n    allow: []\n',
      'sip.inbound.allow: [] is not valid — expected at least one CIDR (0.0.0.0/0 and ::/0 allow anyone)',
    ],
    [
      'sip:\n  inbound:\n    onReject: 404\n',
      'sip.inbound.onReject: 404 is not valid — expected drop or 403',
    ],
    [
      'sip:\n  registrations:\n    - { aor: "4000@pbx", registrar: "sip:pbx" }\n',
      'sip.registrations[0].aor: "4000@pbx" is not valid — expected a sip: or sips: URI',
    ],
    [
      'sip:\n  registrations:\n    - { aor: "sip:4000@pbx", registrar: "sip:pbx", password: 7 }\n',
      'sip.registrations[0].password: (the value, hidden) is not valid — expected a string',
    ],
    [
      'media:\n  rtpAddress: localhost\n',
      'media.rtpAddress: "localhost" is not valid — expected an IPv4 or IPv6 address',
    ],
    ['media:\n  portMin: 41000\n', 'media.portMax: 40999 is not valid — expected ≥ media.portMin (41000)'],
    ['media:\n  codecs: [PCMU, G729]\n', 'media.codecs[1]: "G729" is not valid — expected PCMU or PCMA'],
    ['media:\n  ptimeMs: 25\n', 'media.ptimeMs: 25 is not valid — expected one of 10, 20, 30, 40, 50, 60'],
    ['media:\n  jitter: { lateCostMs: 0 }\n', 'media.jitter.lateCostMs: 0 is not valid — expected > 0'],
    [
      'media:\n  jitter: { maxDelayMs: 1500 }\n',
      'media.jitter.maxDelayMs: 1500 is not valid — expected an integer 20–1000',
    ],
    [
      'sip:\n  backend: drachtio\n  drachtio: { mode: outbound, secret: s }\n  registrations:\n    - { aor: "sip:4000@pbx", registrar: "sip:pbx" }\n',
      'sip.drachtio.mode: "outbound" is not valid — expected inbound when sip.registrations are set (outbound mode has no standing connection to register over)',
    ],
    [
      'realtime:\n  url: https://api.x.ai\n',
      'realtime.url: "https://api.x.ai" is not valid — expected a ws:// or wss:// URL',
    ],
    [
      'realtime:\n  apiKey: xai-123\n',
      'realtime.apiKey: not allowed in the file — set the XAI_API_KEY environment variable',
    ],
  ];
  for (const [yaml, message] of cases) {
    t.same(problems(yaml + minimal), [message], message);
  }
});

t.test('agent errors: missing fields, voices, tools, unknown route targets', async (t) => {
  t.same(problems('agents:\n  profiles:\n    - { name: a }\n'), [
    'agents.profiles[0].instructions: missing — expected a string',
  ]);
  t.same(problems('agents:\n  profiles:\n    - { name: a, instructions: x, voice: Bob }\n'), [
    'agents.profiles[0].voice: "Bob" is not valid — expected one of Ara, Rex, Sal, Eve, Leo (any case)',
  ]);
  t.same(problems('agents:\n  profiles:\n    - { name: a, instructions: x, tools: [{ type: hangup }] }\n'), [
    'agents.profiles[0].tools[0].type: "hangup" is not valid — expected a tool with type web_search, x_search, file_search, end_call, transfer, send_dtmf or function',
  ]);
  t.same(
    problems(
      'agents:\n  default: nobody\n  profiles:\n    - { name: a, instructions: x }\n  routes:\n    - { match: "4*", agent: sales }\n    - { match: "/[/", agent: a }\n',
    ),
    [
      'agents.routes[1].match: "/[/" is not valid — expected a valid regular expression between slashes',
      'agents.default: "nobody" is not valid — expected one of a',
      'agents.routes[0].agent: "sales" is not valid — expected one of a',
    ],
    'every problem at once',
  );
  t.same(
    problems(
      'agents:\n  default: nobody\n  profiles:\n    - { name: a, instructions: x }\n  routes:\n    - { match: "4*", agent: sales }\n',
    ),
    [
      'agents.default: "nobody" is not valid — expected one of a',
      'agents.routes[0].agent: "sales" is not valid — expected one of a',
    ],
  );
  t.same(
    problems(
      'agents:\n  profiles:\n    - { name: a, instructions: x }\n    - { name: a, instructions: y }\n',
    ),
    ['agents.profiles[1].name: "a" is not valid — expected a name not used by another profile'],
  );
  t.same(problems('sip: {}\n'), ['agents: missing — expected an agents section with at least one profile']);
});

t.test('unknown keys: "did you mean" when close, else the allowed list', async (t) => {
  t.same(problems('sip:\n  listn: []\n' + minimal), ['sip.listn: unknown key — did you mean "listen"?']);
  t.same(problems('meda: {}\n' + minimal), ['meda: unknown key — did you mean "media"?']);
  t.same(problems('media:\n  jitter: { maxDelay: 100 }\n' + minimal), [
    'media.jitter.maxDelay: unknown key — did you mean "maxDelayMs"?',
  ]);
  t.same(problems('http:\n  tls: true\n' + minimal), ['http.tls: unknown key — allowed: address, port']);
  t.same(
    problems(
      'agents:\n  profiles:\n    - { name: a, instructions: x, tools: [{ type: transfer, target: {} }] }\n',
    ),
    [
      'agents.profiles[0].tools[0].targets: missing — expected a map of target names to sip: URIs',
      'agents.profiles[0].tools[0].target: unknown key — did you mean "targets"?',
    ],
  );
});

t.test('YAML syntax errors and wrong top-level shapes', async (t) => {
  t.same(problems('sip:\n  listen: [\n'), [
    'YAML error at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  t.same(problems('a: 1\na: 2\n'), ['YAML error at line 2, column 1: Map keys must be unique']);
  t.same(problems('- 1\n- 2\n'), [
    'the file must be a YAML mapping of sections (sip, media, realtime, agents, ...)',
  ]);
  t.throws(
    () => parseConfig(42 as unknown as string, {}),
    new TypeError('config text must be a string, got number'),
  );
});

t.test('environment: XAI_API_KEY and ${VAR} references', async (t) => {
  const withKey = parseConfig(minimal, { XAI_API_KEY: 'xai-secret' });
  t.equal(withKey.realtime.apiKey, 'xai-secret');
  t.equal(parseConfig(minimal, { XAI_API_KEY: '' }).realtime.apiKey, undefined, 'empty = unset');

  const yaml =
    'sip:\n  registrations:\n    - aor: sip:4000@pbx.example.com\n      registrar: sip:pbx.example.com\n      password: ${PBX_PASSWORD}\n      username: "u$${literal}"\n' +
    minimal;
  const config = parseConfig(yaml, { PBX_PASSWORD: 'hunter2' });
  t.equal(config.sip.registrations[0]?.password, 'hunter2');
  t.equal(config.sip.registrations[0]?.username, 'u${literal}');
  t.equal(config.sip.registrations[0]?.expiresSec, 300);
  t.same(problems(yaml, {}), ['sip.registrations[0].password: environment variable PBX_PASSWORD is not set']);
});

t.test('maskSecrets hides every secret and nothing else', async (t) => {
  const yaml = `
sip:
  backend: drachtio
  drachtio: { mode: inbound, secret: "\${DRACHTIO_SECRET}" }
  registrations:
    - { aor: "sip:4000@pbx", registrar: "sip:pbx", password: "\${PW}" }
  inbound:
    digest: { realm: r, users: [{ username: pbx, password: trunkpw }] }
agents:
  profiles:
    - name: a
      instructions: x
      tools:
        - type: function
          name: lookup
          description: look up an order
          webhook: { url: "https://example.com/hook", headers: { authorization: "Bearer tok" } }
`;
  const config = parseConfig(yaml, { XAI_API_KEY: 'xai-secret', DRACHTIO_SECRET: 'cymru', PW: 'hunter2' });
  t.equal(config.sip.drachtio?.secret, 'cymru');
  const printed = JSON.stringify(maskSecrets(config));
  for (const secret of ['xai-secret', 'cymru', 'hunter2', 'trunkpw', 'Bearer tok'])
    t.notMatch(printed, secret);
  const masked = maskSecrets(config) as typeof config;
  t.equal(masked.realtime.apiKey, '***');
  t.equal(masked.sip.registrations[0]?.password, '***');
  t.equal(masked.sip.registrations[0]?.aor, 'sip:4000@pbx');
  t.equal(masked.sip.inbound.digest?.users[0]?.username, 'pbx');
  t.equal(masked.sip.drachtio?.port, 9022);
  t.equal(config.sip.registrations[0]?.password, 'hunter2', 'the config itself is untouched');
});

t.test('loadConfig: unreadable path', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'missing.yaml');
  t.throws(() => loadConfig(path, {}), { name: 'ConfigError', message: /cannot read the file: ENOENT/ });
  writeFileSync(join(dir, 'ok.yaml'), readFileSync(shipped, 'utf8'));
  t.equal(loadConfig(join(dir, 'ok.yaml'), {}).agents.default, 'assistant');
});

t.test('agent voice in any case; transcription and VAD in the ranges the service accepts', async (t) => {
  const profile = (yaml: string) =>
    parseConfig(`agents:\n  profiles:\n    - { name: a, instructions: x, ${yaml} }\n`, {}).agents
      .profiles[0]!;
  t.equal(profile('voice: ara').voice, 'Ara', 'ara is Ara');
  t.equal(profile('voice: LEO').voice, 'Leo');
  t.equal(profile('transcription: false').transcription, false, 'caller transcription can be turned off');
  t.same(profile('transcription: { languageHint: de }').transcription, {
    model: 'grok-transcribe',
    languageHint: 'de',
  });
  t.same(profile('vad: { threshold: 0.3, silenceDurationMs: 600 }').vad, {
    threshold: 0.3,
    silenceDurationMs: 600,
  });
  t.match(problems('agents:\n  profiles:\n    - { name: a, instructions: x, vad: { threshold: 0.95 } }\n'), [
    /vad\.threshold.*0\.1–0\.9/,
  ]);
  t.match(
    problems('agents:\n  profiles:\n    - { name: a, instructions: x, vad: { silenceDurationMs: 20000 } }\n'),
    [/vad\.silenceDurationMs/],
  );
});

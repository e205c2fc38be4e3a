// G4 (docs/embedded-sip.md): sip.js's parser with its table built once per process. The hoisted
// copy must parse exactly as sip.js's own generated parser does — every start rule over every
// RFC 4475 start line and header value plus hand-written edge cases, and whole messages through
// sip.js's Parser — and must be what EmbeddedBackend.start() installs. No network but loopback.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { Core, Grammar, NameAddrHeader, URI } from 'sip.js';
import { parse as pegParse } from 'sip.js/lib/grammar/pegjs/dist/grammar.js';
import { EmbeddedBackend } from '../../src/signaling/embedded/embedded-backend.js';
import {
  hoistGrammarSource,
  hoistSipJsGrammar,
  sipGrammarStatus,
  sipGrammarUrl,
} from '../../src/signaling/embedded/sipjs-grammar.js';

type GrammarParse = (input: string, startRule: string) => unknown;
const pristineParse = Grammar.parse as GrammarParse;

/** sip.js's Grammar.parse (lib/grammar/grammar.js:16-25) over the original module's parser. */
function originalParse(input: string, startRule: string): unknown {
  const options: { startRule: string; data?: unknown } = { startRule };
  try {
    pegParse(input, options);
  } catch {
    options.data = -1;
  }
  return options.data;
}

/** Start line, and each header value whole and split at commas (unfolded, §7.3.1). */
function corpusOf(message: string): string[] {
  const end = message.indexOf('\r\n\r\n');
  const lines = (end < 0 ? message : message.slice(0, end)).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const out = [lines[0]!];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const value = line.slice(colon + 1).trim();
    out.push(value, ...value.split(',').map((v) => v.trim()));
  }
  return out;
}

/** A RegExp or a peg expectation object anywhere in a parse result: those are shared now. */
function holdsSharedConstant(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof RegExp) return true;
  const type = (value as { type?: unknown }).type;
  if ((type === 'literal' || type === 'class') && 'ignoreCase' in value) return true;
  return Object.values(value).some((v) => holdsSharedConstant(v, seen));
}

const fixtures = path.join(import.meta.dirname, 'fixtures', 'rfc4475');
const messages = readdirSync(fixtures)
  .filter((f) => f.endsWith('.dat'))
  .map((f) => ({ name: f, text: readFileSync(path.join(fixtures, f)).toString('utf8') }));

const EDGE_CASES = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'INVITE sips:bob@biloxi.example.com;transport=tcp SIP/2.0',
  'INVITE tel:+1-201-555-0123 SIP/2.0',
  'FOO sip:x@y SIP/7.0',
  'SIP/2.0 200 OK',
  'SIP/2.0 999 Something Else',
  'SIP/2.0 200',
  'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;received=198.51.100.7',
  'SIP/2.0/TCP [2001:db8::9:1]:5061;branch=z9hG4bKas3-111;maddr=239.255.255.1;ttl=16',
  'SIP/2.0/UDP ::1;branch=z9hG4bKx', // the unbracketed IPv6 sip.js writes (K2)
  'SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com:5070;branch=z9hG4bK2',
  '"Alice \\"A\\" Liddell" <sip:alice@atlanta.example.com>;tag=1928301774',
  'Bob <sip:bob@biloxi.example.com>',
  'sip:carol@chicago.example.com;tag=x',
  '*',
  '<sip:bob@192.0.2.4:5062;transport=tcp>;expires=60;q=0.7, <sip:b2@h>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"',
  '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>',
  '314159 INVITE',
  '4294967296 INVITE',
  '-1 BYE',
  '1 invite',
  'a84b4c76e66710@pc33.atlanta.example.com',
  '0',
  '256',
  'abc',
  'application/sdp;charset=utf-8',
  'multipart/mixed; boundary=unique-boundary-1',
  'session;handling=required',
  'refer;id=93809824',
  'active;expires=60',
  'terminated;reason=noresource',
  '<sip:carol@chicago.example.com?Replaces=12345%40host%3Bto-tag%3Da%3Bfrom-tag%3Db>',
  '12345@host;to-tag=a;from-tag=b;early-only',
  '<sip:a@b>;cid="20398823.2UWQFN309shb3@referrer.example"',
  'Referred-By: <sip:a@b>;cid="20398823.2UWQFN309shb3@referrer.example"',
  '"a \\"quoted\\" string"',
  'Digest realm="atlanta.example.com", nonce="84a4cc6f3082121f32b42a2187831a9e", qop="auth", algorithm=MD5, stale=FALSE',
  'Digest realm="x", domain="sip:ss1.example.com", nonce="n", opaque="", stale=true, algorithm=AKAv1-MD5',
  '1800;refresher=uac',
  '90',
  '100rel, timer',
  'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
  'f81d4fae-7dec-11d0-a765-00a0c91e6bfZ',
  'stun:stun.example.org:3478',
  'turns:turn.example.org?transport=tcp',
  'https://example.com/x?y=z',
  'sip:echo@256.256.256.256',
  'sip:user;par=u%40example.net@example.com',
  '',
  ' ',
  '\0',
  '<',
  'sip:',
  '"unterminated <sip:a@b>',
  '☎ <sip:a@b>',
  'a'.repeat(10_000),
];

t.test(
  'EmbeddedBackend.start() installs the hoisted parser (server and `grok-sip call` both start one)',
  async (t) => {
    t.equal(sipGrammarStatus().state, 'original', 'nothing installed before start()');
    t.equal(Grammar.parse, pristineParse);
    const backend = new EmbeddedBackend({
      listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }],
      maxCalls: 1,
      retryAfterSec: 5,
      userAgent: 'sipjs-grammar.test',
      registrations: [],
    });
    await backend.start();
    await backend.stop();
    const status = sipGrammarStatus();
    t.equal(status.state, 'hoisted', `hoisted (refusal reason: ${status.reason ?? 'none'})`);
    t.not(Grammar.parse, pristineParse, 'Grammar.parse replaced');
    t.equal(await hoistSipJsGrammar(), status, 'idempotent: the same status');
    t.equal(sipGrammarStatus().state, 'hoisted');
  },
);

t.test('same results as sip.js own parser: every start rule × RFC 4475 lines and edge cases', async (t) => {
  const status = await hoistSipJsGrammar();
  t.equal(status.state, 'hoisted');
  const hoisted = Grammar.parse as GrammarParse;
  const rules = [...status.startRules, 'No_Such_Rule', 'constructor', ''];
  t.equal(status.startRules.length, 34, "sip.js 0.21.2's 34 start rules");
  for (const used of [
    'Request_Response',
    'Via',
    'From',
    'To',
    'CSeq',
    'Call_ID',
    'Contact',
    'Record_Route',
  ]) {
    t.ok(rules.includes(used), `${used} among the start rules`);
  }
  const inputs = [...new Set([...messages.flatMap((m) => corpusOf(m.text)), ...EDGE_CASES])];
  t.ok(inputs.length > 400, `${inputs.length} distinct inputs`);
  const mismatches: string[] = [];
  const shared: string[] = [];
  const accepted = new Map<string, number>();
  let refused = 0;
  for (const input of inputs) {
    for (const rule of rules) {
      const want = originalParse(input, rule);
      const got = hoisted(input, rule);
      if (!isDeepStrictEqual(want, got)) mismatches.push(`${rule}: ${JSON.stringify(input.slice(0, 80))}`);
      if (holdsSharedConstant(got)) shared.push(`${rule}: ${JSON.stringify(input.slice(0, 80))}`);
      if (want === -1) refused++;
      else accepted.set(rule, (accepted.get(rule) ?? 0) + 1);
    }
  }
  t.same(mismatches, [], 'no input parses differently');
  t.same(shared, [], 'no result holds a hoisted regex or expectation object (a caller could mutate it)');
  t.ok(refused > 1000, `${refused} refusals (-1) compared`);
  const unexercised = status.startRules.filter((rule) => !accepted.has(rule));
  t.same(unexercised, [], 'every start rule accepts some input of the corpus');

  t.type(hoisted('"A" <sip:a@h>', 'Name_Addr_Header'), NameAddrHeader, "sip.js's own NameAddrHeader");
  t.type(hoisted('sip:a@h;transport=tcp', 'SIP_URI'), URI, "sip.js's own URI");
  t.equal(Grammar.nameAddrHeaderParse('<sip:a@h>')?.uri.host, 'h', 'through Grammar.nameAddrHeaderParse');
  t.equal(Grammar.URIParse('sip:@'), undefined, 'Grammar.URIParse of an invalid URI');
});

t.test('whole RFC 4475 messages through sip.js Parser.parseMessage: same objects either way', async (t) => {
  await hoistSipJsGrammar();
  const hoisted = Grammar.parse as GrammarParse;
  const loggerFactory = new Core.LoggerFactory();
  loggerFactory.builtinEnabled = false;
  const logger = loggerFactory.getLogger('sipjs-grammar.test');
  const grammar = Grammar as { parse: GrammarParse };
  let parsed = 0;
  for (const { name, text } of messages) {
    grammar.parse = originalParse;
    const want = Core.Parser.parseMessage(text, logger);
    grammar.parse = hoisted;
    const got = Core.Parser.parseMessage(text, logger);
    t.ok(isDeepStrictEqual(want, got), `${name}: same message`);
    if (want !== undefined) parsed++;
  }
  t.ok(parsed > 30, `${parsed} of ${messages.length} messages parsed`);
});

t.test('the table is decoded once: the bytecode count does not grow with parses', async (t) => {
  const status = await hoistSipJsGrammar();
  t.equal(status.bytecodeDecodes(), 235, 'the 235 bytecode strings, decoded at load');
  const hoisted = Grammar.parse as GrammarParse;
  for (let i = 0; i < 1000; i++) hoisted(`SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK${i}`, 'Via');
  t.equal(status.bytecodeDecodes(), 235, 'still 235 after the corpus and 1000 more parses');
});

t.test('the transform refuses a grammar.js it was not written for (sip.js keeps its parser)', async (t) => {
  const url = sipGrammarUrl();
  const source = readFileSync(url, 'utf8');
  t.doesNotThrow(() => hoistGrammarSource(source, url), 'sip.js 0.21.2 as installed');
  const out = hoistGrammarSource(source, url);
  t.match(out, `from "${new URL('../../uri.js', url).href}"`, 'imports made absolute');
  t.notMatch(out, /from "\.\.?\//, 'no relative import left');
  const variants: [string, string][] = [
    ['a regex with the g flag', source.replace('        /^[0-9]/,\n', '        /^[0-9]/g,\n')],
    ['a constant naming an identifier', source.replace('        "\\r\\n",\n', '        peg$FAILED,\n')],
    [
      'an expectation naming an identifier',
      source.replace('peg$literalExpectation("\\r\\n", false)', 'peg$literalExpectation(input, false)'),
    ],
    ['one bytecode entry fewer', source.replace(/\n {8}peg\$decode\("2 \\"\\"6 7!"\),/, '')],
    ['one more import', `import { x } from "./x.js";\n${source}`],
    ['another peg$decode', source.replace('ch.charCodeAt(0) - 32', 'ch.charCodeAt(0) - 33')],
    [
      'a write to a constant',
      source.replace('let peg$currPos = 0;', 'let peg$currPos = 0; peg$consts[0] = "";'),
    ],
    ['an action cut short', source.replace(/(\n {8}function \([^\n]*\{\n)/, '$1        },\n')],
  ];
  for (const [what, variant] of variants) {
    t.not(variant, source, `${what}: the variant differs`);
    t.throws(() => hoistGrammarSource(variant, url), `${what}: refused`);
  }
});

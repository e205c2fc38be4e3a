// sip.js 0.21.2's generated PEG parser (lib/grammar/pegjs/dist/grammar.js) builds its whole table
// inside `peg$parse`, i.e. on every call: 235 bytecode strings split and mapped by `peg$decode`,
// and ~300 constants (strings, regexes, expectation objects). sip.js calls Grammar.parse several
// times per message (start line, From, To, Via, CSeq, Contact, …, and twice over: K9), and at 500
// concurrent SIPp calls `peg$decode` alone was 4 % of the process CPU (--cpu-prof).
//
// At start we load a copy of that module, transformed so the bytecode, `peg$decode`, the start
// rule table and the pure constants are built once at module scope, and install its parser as
// `Grammar.parse` (a mutable namespace property that every sip.js caller goes through). The
// action closures (they write to the per-call `options.data` and read the per-call position)
// stay inside `peg$parse`, assigned into a copy of the shared constant array at their indices.
// Relative imports become absolute file: URLs of sip.js's own directory, so URI and
// NameAddrHeader are the instances the rest of sip.js uses (instanceof holds).
//
// Fails safe: the transform checks that the source is exactly the shape it expects (sip.js is
// pinned); any mismatch, a load error, or a copy that disagrees with the original on a few
// samples keeps sip.js's own parser and logs one warning. docs/embedded-sip.md, entry G4.
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { Grammar, NameAddrHeader } from 'sip.js';
import { logger } from '../../observability/logger.js';

const log = logger.child({ module: 'sip' });

/** Expected table sizes of sip.js 0.21.2's grammar; anything else is another grammar. */
const EXPECTED = { bytecode: 235, consts: 401, actions: 102, imports: 2 } as const;

export interface SipGrammarStatus {
  /** 'hoisted': Grammar.parse is ours; 'original': not tried yet or refused (see reason). */
  state: 'original' | 'hoisted';
  reason?: string;
  /** How many bytecode strings the installed copy has decoded (235 once, then never again). */
  bytecodeDecodes: () => number;
  /** The grammar's start rules, read from sip.js's source. */
  startRules: readonly string[];
}

interface HoistedModule {
  parse: (input: string, options: { startRule?: string; data?: unknown }) => unknown;
  peg$hoisted: { decodes: () => number; startRules: string[] };
}

type GrammarParse = (input: string, startRule: string) => unknown;

let status: SipGrammarStatus = { state: 'original', bytecodeDecodes: () => 0, startRules: [] };
let installing: Promise<SipGrammarStatus> | undefined;

export function sipGrammarStatus(): SipGrammarStatus {
  return status;
}

/** URL of sip.js's generated parser, as sip.js itself imports it. */
export function sipGrammarUrl(): URL {
  return new URL('./grammar/pegjs/dist/grammar.js', import.meta.resolve('sip.js'));
}

/** Idempotent and never throws; resolves once Grammar.parse is the hoisted copy or was refused. */
export function hoistSipJsGrammar(): Promise<SipGrammarStatus> {
  installing ??= install().then(
    (s) => (status = s),
    (err: unknown) => refuse(err instanceof Error ? err.message : String(err)),
  );
  return installing;
}

function refuse(reason: string): SipGrammarStatus {
  log.warn({ reason }, "sip.js grammar: keeping sip.js's own parser (table rebuilt per parse)");
  status = { state: 'original', reason, bytecodeDecodes: () => 0, startRules: [] };
  return status;
}

async function install(): Promise<SipGrammarStatus> {
  const url = sipGrammarUrl();
  const source = await readFile(url, 'utf8');
  const transformed = hoistGrammarSource(source, url);
  const mod = (await import(
    `data:text/javascript;base64,${Buffer.from(transformed).toString('base64')}`
  )) as HoistedModule;
  const original = Grammar.parse as GrammarParse;
  const hoisted: GrammarParse = function parse(input: string, startRule: string): unknown {
    // sip.js's Grammar.parse, lib/grammar/grammar.js:16-25.
    const options: { startRule: string; data?: unknown } = { startRule };
    try {
      mod.parse(input, options);
    } catch {
      options.data = -1;
    }
    return options.data;
  };
  const mismatch = selfCheck(original, hoisted);
  if (mismatch) return refuse(mismatch);
  (Grammar as { parse: GrammarParse }).parse = hoisted;
  return {
    state: 'hoisted',
    bytecodeDecodes: mod.peg$hoisted.decodes,
    startRules: mod.peg$hoisted.startRules,
  };
}

/** A few messages' worth of parses compared with sip.js's own parser before switching over. */
function selfCheck(original: GrammarParse, hoisted: GrammarParse): string | undefined {
  const samples: [string, string][] = [
    ['INVITE sip:bob@biloxi.example.com SIP/2.0', 'Request_Response'],
    ['SIP/2.0 180 Ringing', 'Request_Response'],
    ['SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport', 'Via'],
    ['"Alice" <sip:alice@atlanta.example.com>;tag=1928301774', 'From'],
    ['<sip:bob@192.0.2.4:5062;transport=tcp>;expires=60, <sip:b2@h>', 'Contact'],
    ['314159 INVITE', 'CSeq'],
    ['sip:alice@atlanta.example.com;maddr=239.255.255.1', 'SIP_URI'],
    ['<sip:@@>', 'Contact'],
    ['x', 'No_Such_Rule'],
  ];
  for (const [input, rule] of samples) {
    const a = original(input, rule);
    const b = hoisted(input, rule);
    if (!isDeepStrictEqual(a, b)) return `self-check: ${rule} "${input}" parses differently`;
  }
  if (!(hoisted('"A" <sip:a@h>', 'Name_Addr_Header') instanceof NameAddrHeader)) {
    return 'self-check: NameAddrHeader is another module instance';
  }
  return undefined;
}

class GrammarMismatch extends Error {}

function expectOne(source: string, needle: string | RegExp, what: string): number {
  const re = typeof needle === 'string' ? new RegExp(escapeRe(needle), 'g') : new RegExp(needle.source, 'gm');
  const hits = [...source.matchAll(re)];
  if (hits.length !== 1) throw new GrammarMismatch(`${what}: found ${hits.length} times, expected once`);
  return hits[0]!.index;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const STRING = /"(?:[^"\\\n]|\\.)*"/g;
const PATTERNS = {
  import: /^import \{ \w+ \} from "(\.\.?\/[^"]+)";$/gm,
  startRules: /^ {4}const peg\$startRuleIndices = \{(?: \w+: \d+,?)+ \};\n/m,
  bytecodeEntry: /^ {8}peg\$decode\("(?:[^"\\]|\\.)*"\),?$/,
  string: /^ {8}"(?:[^"\\]|\\.)*",?$/,
  // No g or y flag: a regex without them keeps no state between .test() calls.
  regex: /^ {8}\/(?:[^/\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+\/[imsu]*,?$/,
  expectation: /^ {8}peg\$(?:literal|class)Expectation\((.*)\),?$/,
  actionStart: /^ {8}function \(/,
  actionEnd: /^ {8}\},?$/,
  expectationBuilder:
    /^ {4}function peg\$(?:literal|class)Expectation\([\w, ]+\) \{\n {8}return \{[^\n]*\};\n {4}\}\n/gm,
};
const DECODE = `    function peg$decode(s) {
        return s.split("").map((ch) => ch.charCodeAt(0) - 32);
    }
`;
const CONSTS_START = '\n    const peg$consts = [\n';
const BYTECODE_START = '\n    ];\n    const peg$bytecode = [\n';
const BYTECODE_END = '\n    ];\n    let peg$currPos = 0;\n';
const PARSE_START = '\nfunction peg$parse(input, options) {\n';
const EXPORT = '\nexport const parse = peg$parse;\n';

/**
 * sip.js 0.21.2's grammar.js with the table hoisted out of peg$parse (see the file comment).
 * Throws GrammarMismatch when the source is not the shape this was written against.
 */
export function hoistGrammarSource(source: string, grammarUrl: URL): string {
  // Imports: absolute, so the classes are sip.js's own module instances.
  let imports = 0;
  let out = source.replace(PATTERNS.import, (line, spec: string) => {
    imports++;
    return line.replace(`"${spec}"`, JSON.stringify(new URL(spec, grammarUrl).href));
  });
  if (
    imports !== EXPECTED.imports ||
    /\bimport\s*\(|\brequire\s*\(|^import\b(?! \{ \w+ \} from "file:)/m.test(out)
  ) {
    throw new GrammarMismatch(
      `imports: ${imports}, expected ${EXPECTED.imports} named relative imports only`,
    );
  }

  // The hoisted regexes and expectation objects are shared by every parse: nothing may write to them.
  if (/peg\$consts\[[^\]]*\]\s*=(?!=)|\.(?:parts|inverted|ignoreCase|lastIndex)\s*=(?!=)/.test(out)) {
    throw new GrammarMismatch('the parser writes to its constants');
  }
  const parseAt = expectOne(out, PARSE_START, 'function peg$parse');
  expectOne(out, EXPORT, 'export const parse = peg$parse');
  const decodeAt = expectOne(out, DECODE, 'function peg$decode');
  if (decodeAt < parseAt) throw new GrammarMismatch('peg$decode outside peg$parse');
  out = out.slice(0, decodeAt) + out.slice(decodeAt + DECODE.length);

  const builders = [...out.matchAll(PATTERNS.expectationBuilder)].map((m) => m[0]);
  if (builders.length !== 2)
    throw new GrammarMismatch(`expectation builders: ${builders.length}, expected 2`);

  const rulesAt = expectOne(out, PATTERNS.startRules, 'const peg$startRuleIndices');
  const rulesLine = PATTERNS.startRules.exec(out.slice(rulesAt))![0];
  out = out.slice(0, rulesAt) + out.slice(rulesAt + rulesLine.length);

  const constsAt = expectOne(out, CONSTS_START, 'const peg$consts = [');
  const bytecodeAt = expectOne(out, BYTECODE_START, 'const peg$bytecode = [');
  const bytecodeEnd = expectOne(out, BYTECODE_END, 'end of peg$bytecode');
  if (!(parseAt < constsAt && constsAt < bytecodeAt && bytecodeAt < bytecodeEnd)) {
    throw new GrammarMismatch('peg$consts / peg$bytecode out of order');
  }
  const constLines = out.slice(constsAt + CONSTS_START.length, bytecodeAt).split('\n');
  const bytecodeLines = out.slice(bytecodeAt + BYTECODE_START.length, bytecodeEnd).split('\n');

  if (
    bytecodeLines.length !== EXPECTED.bytecode ||
    !bytecodeLines.every((l) => PATTERNS.bytecodeEntry.test(l))
  ) {
    throw new GrammarMismatch(
      `peg$bytecode: ${bytecodeLines.length} lines, expected ${EXPECTED.bytecode} peg$decode("…")`,
    );
  }

  const shared: string[] = [];
  const actions: string[] = [];
  for (let i = 0; i < constLines.length; i++) {
    const line = constLines[i]!;
    const index = shared.length;
    if (PATTERNS.string.test(line) || PATTERNS.regex.test(line)) {
      shared.push(line);
    } else if (PATTERNS.expectation.test(line)) {
      // Arguments: string literals, arrays of them and booleans; nothing from peg$parse's scope.
      const args = PATTERNS.expectation.exec(line)![1]!.replace(STRING, '');
      if (!/^[[\], ]*(?:(?:true|false)[[\], ]*)*$/.test(args)) {
        throw new GrammarMismatch(`peg$consts[${index}]: unexpected expectation arguments`);
      }
      shared.push(line);
    } else if (PATTERNS.actionStart.test(line)) {
      let end = i;
      if (!/\},?$/.test(line)) {
        while (++end < constLines.length && !PATTERNS.actionEnd.test(constLines[end]!)) {
          if (!constLines[end]!.startsWith('         ')) {
            throw new GrammarMismatch(`peg$consts[${index}]: action body not indented`);
          }
        }
        if (end === constLines.length) throw new GrammarMismatch(`peg$consts[${index}]: unterminated action`);
      }
      const text = constLines
        .slice(i, end + 1)
        .join('\n')
        .trim()
        .replace(/,$/, '');
      actions.push(`    peg$consts[${index}] = ${text};`);
      shared.push('        undefined,');
      i = end;
    } else {
      throw new GrammarMismatch(`peg$consts[${index}]: neither string, regex, expectation nor action`);
    }
  }
  if (shared.length !== EXPECTED.consts || actions.length !== EXPECTED.actions) {
    throw new GrammarMismatch(
      `peg$consts: ${shared.length} entries, ${actions.length} actions; expected ${EXPECTED.consts}, ${EXPECTED.actions}`,
    );
  }

  const moduleScope = [
    'let peg$decodes = 0;',
    'function peg$decode(s) {',
    '    peg$decodes++;',
    '    return s.split("").map((ch) => ch.charCodeAt(0) - 32);',
    '}',
    ...builders.map((b) => b.trimEnd()),
    rulesLine.trimEnd(),
    'const peg$constsShared = [',
    ...shared,
    '];',
    'const peg$bytecode = [',
    ...bytecodeLines,
    '];',
    'export const peg$hoisted = { decodes: () => peg$decodes, startRules: Object.keys(peg$startRuleIndices) };',
  ].join('\n');
  return (
    out.slice(0, parseAt + 1) +
    moduleScope +
    out.slice(parseAt, constsAt) +
    '\n    const peg$consts = peg$constsShared.slice();\n' +
    actions.join('\n') +
    out.slice(bytecodeEnd + '\n    ];'.length)
  );
}

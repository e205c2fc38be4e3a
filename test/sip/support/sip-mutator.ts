// Seeded mutations of valid SIP messages, for the fuzz tests (test/sip/sip-fuzz.test.ts) and
// `npm run fuzz:sip`: header deletion and duplication, huge values, invalid UTF-8, NUL bytes,
// truncation at any offset, random bytes, absurd Content-Length, odd Request-URIs and methods,
// broken Via/CSeq/To/From, responses with broken headers. The same seed gives the same
// datagrams, so a failure names the seed and index that reproduce it.

/** xorshift32: small, fast, reproducible. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#s = x;
    return x;
  }
  int(n: number): number {
    return this.next() % Math.max(1, n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

export interface SeedContext {
  /** Where grok-sip listens. */
  readonly target: string;
  /** Request-URI user of the seeds: one that routes to an agent makes calls, another gets 404. */
  readonly user?: string;
  /** Dialogs the fuzzer set up (answered calls): in-dialog seeds use their Call-ID and tags. */
  readonly dialogs?: readonly FuzzDialog[];
  /** Our address:port as the peer (Via sent-by, Contact). */
  readonly self: string;
}

export interface FuzzDialog {
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
  /** Next CSeq number to use (the mutator takes one per request). */
  cseq: number;
}

const SDP = [
  'v=0',
  'o=fuzz 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');

/** Valid messages of every kind the issue names, numbered by `i` so branches and Call-IDs differ. */
export function seedMessages(ctx: SeedContext, i: number): string[] {
  const req = (method: string, uri: string, extra: string[] = [], body = '', toTag = '', cseq = 1): string =>
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ctx.self};branch=z9hG4bK-fz-${i}-${method};rport`,
      `From: "Fuzz" <sip:fuzz@${ctx.self}>;tag=ft${i}`,
      `To: <sip:${ctx.user ?? 'echo'}@${ctx.target}>${toTag}`,
      `Call-ID: fuzz-${i}@127.0.0.1`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:fuzz@${ctx.self}>`,
      'Max-Forwards: 70',
      ...extra,
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  const uri = `sip:${ctx.user ?? 'echo'}@${ctx.target}`;
  const inDialog = (method: string, extra: string[] = [], body = ''): string[] =>
    (ctx.dialogs ?? [])
      .slice(i % Math.max(1, ctx.dialogs?.length ?? 1), (i % Math.max(1, ctx.dialogs?.length ?? 1)) + 1)
      .map((d) =>
        [
          `${method} ${uri} SIP/2.0`,
          `Via: SIP/2.0/UDP ${ctx.self};branch=z9hG4bK-fd-${i}-${method};rport`,
          `From: "Fuzz" <sip:fuzz@${ctx.self}>;tag=${d.fromTag}`,
          `To: <sip:echo@${ctx.target}>;tag=${d.toTag}`,
          `Call-ID: ${d.callId}`,
          `CSeq: ${d.cseq++} ${method}`,
          `Contact: <sip:fuzz@${ctx.self}>`,
          'Max-Forwards: 70',
          ...extra,
          ...(body ? ['Content-Type: application/sdp'] : []),
          `Content-Length: ${Buffer.byteLength(body)}`,
          '',
          body,
        ].join('\r\n'),
      );
  return [
    ...inDialog('INFO', ['Content-Type: application/dtmf-relay'], ''),
    ...inDialog('INVITE', [], SDP),
    ...inDialog('OPTIONS'),
    ...inDialog('UPDATE'),
    ...inDialog('PRACK', ['RAck: 1 1 INVITE']),
    ...inDialog('REFER', [`Refer-To: <sip:other@${ctx.target}>`]),
    ...inDialog('NOTIFY', ['Event: refer', 'Subscription-State: active']),
    ...inDialog('ACK'),
    ...inDialog('MESSAGE'),
    req('INVITE', uri, ['Supported: timer', 'Allow: INVITE, ACK, BYE, CANCEL'], SDP),
    req('REGISTER', `sip:${ctx.target}`, ['Expires: 60']),
    req('OPTIONS', uri, ['Accept: application/sdp']),
    req('BYE', uri, [], '', ';tag=nosuchdialog', 2),
    req('ACK', uri, [], '', ';tag=nosuchdialog'),
    req('CANCEL', uri),
    req('INFO', uri, ['Content-Type: application/dtmf-relay'], '', ';tag=x', 3),
    req('INVITE', uri, [], SDP, ';tag=reinvite', 4),
    req('PRACK', uri, ['RAck: 1 1 INVITE'], '', ';tag=y', 5),
    req('UPDATE', uri, [], '', ';tag=z', 6),
    req('REFER', uri, [`Refer-To: <sip:other@${ctx.target}>`], '', ';tag=r', 7),
    req('NOTIFY', uri, ['Event: refer', 'Subscription-State: active'], '', ';tag=n', 8),
    [
      'SIP/2.0 200 OK',
      `Via: SIP/2.0/UDP ${ctx.target};branch=z9hG4bK-ours-${i}`,
      `From: <sip:grok-sip@${ctx.target}>;tag=ours${i}`,
      `To: <sip:fuzz@${ctx.self}>;tag=theirs`,
      `Call-ID: ours-${i}`,
      'CSeq: 1 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ];
}

const ODD_URIS = [
  'nobodyKnowsThisScheme:totallyopaquecontent',
  'unk:echo@127.0.0.1',
  'urn:service:sos',
  'data:,x',
  'sip:echoH127.0.0.1:5060',
  'sip:echo@256.256.256.256',
  'sips:echo@127.0.0.1',
  'tel:+14155550100',
  'sip:%C3%28@127.0.0.1',
  'sip:%00@127.0.0.1',
  'sip:@127.0.0.1',
  'sip:',
  'sip:echo@[::1',
  'sip:echo@127.0.0.1:99999',
  'sip:echo@127.0.0.1;maddr=',
  'sip:echo@127.0.0.1?Route=%3Csip:evil%3E',
  '*',
  '<sip:echo@127.0.0.1>',
  'sip:echo@127.0.0.1;lr;lr;lr;transport=sctp',
];
const ODD_METHODS = [
  'PRACK',
  'UPDATE',
  'PUBLISH',
  'SUBSCRIBE',
  'MESSAGE',
  'FOO',
  'invite',
  'INV ITE',
  "!%*_+`'~",
  '',
];
const ODD_VALUES = [
  '',
  ' ',
  ';',
  ',',
  '<',
  '>',
  '"',
  '\\',
  '%',
  '%%',
  '<sip:>',
  '<sip:a@b>;tag=',
  '<sip:a@b>;tag',
  'sip:a@b;;;',
  'SIP/2.0/UDP',
  'SIP/2.0/UDP 127.0.0.1:0',
  'SIP/2.0/UDP [::1;branch=z9hG4bK1',
  'SIP/2.0/UDP 127.0.0.1;branch=;rport=x;received=',
  'SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1',
  '1',
  '-1',
  '4294967296 INVITE',
  '1 ',
  ' INVITE',
  '99999999999999999999',
  '0',
  'application/sdp;;;',
  'multipart/mixed;boundary=',
  'a'.repeat(70000),
];
const HEADERS = [
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Contact',
  'Max-Forwards',
  'Content-Length',
  'Content-Type',
  'Route',
  'Record-Route',
  'Require',
  'Supported',
  'Expires',
  'Authorization',
  'Proxy-Authorization',
  'Replaces',
  'Refer-To',
  'Event',
  'RAck',
  'Content-Encoding',
  'Content-Disposition',
  'P-Asserted-Identity',
  'v',
  'f',
  't',
  'i',
  'l',
  'c',
  'm',
  'e',
  'k',
];

/** One mutated datagram from seed `i` (the seed picks the message and the mutations). */
export function mutate(rng: Rng, ctx: SeedContext, i: number): Buffer {
  // One in ten reaches an agent (a real call, with its RTP port and realtime session).
  const seeds = seedMessages({ ...ctx, user: rng.chance(0.1) ? 'echo' : (ctx.user ?? 'nobody') }, i);
  let text = rng.pick(seeds);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) text = mutateText(rng, text);
  let buf: Buffer = Buffer.from(text, 'latin1');
  if (rng.chance(0.08)) buf = mutateBytes(rng, buf);
  return buf;
}

function mutateText(rng: Rng, text: string): string {
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const body = headEnd < 0 ? '' : text.slice(headEnd + 4);
  const lines = head.split('\r\n');
  const at = 1 + rng.int(Math.max(1, lines.length - 1));
  switch (rng.int(16)) {
    case 0: // delete a header
      lines.splice(at, 1);
      break;
    case 1: // duplicate a header
      lines.splice(at, 0, lines[at] ?? 'X: y');
      break;
    case 2: {
      // huge value
      const size = rng.pick([300, 4000, 20000, 70000]);
      lines[at] = `${(lines[at] ?? 'X').split(':')[0]}: ${'x'.repeat(size)}`;
      break;
    }
    case 3: // odd value for a known header
      lines[at] = `${rng.pick(HEADERS)}: ${rng.pick(ODD_VALUES)}`;
      break;
    case 4: {
      // odd Request-URI
      const parts = lines[0]!.split(' ');
      if (!lines[0]!.startsWith('SIP/'))
        lines[0] = `${parts[0]} ${rng.pick(ODD_URIS)} ${parts[2] ?? 'SIP/2.0'}`;
      break;
    }
    case 5: {
      // odd method (CSeq left or matched)
      const method = rng.pick(ODD_METHODS);
      if (!lines[0]!.startsWith('SIP/')) lines[0] = `${method} ${lines[0]!.split(' ').slice(1).join(' ')}`;
      if (rng.chance(0.5)) {
        const c = lines.findIndex((l) => /^CSeq:/i.test(l));
        if (c > 0) lines[c] = `CSeq: 1 ${method}`;
      }
      break;
    }
    case 6: {
      // absurd Content-Length
      const c = lines.findIndex((l) => /^(Content-Length|l):/i.test(l));
      const value = rng.pick([
        '-1',
        '99999999999',
        '1e3',
        '0x10',
        '',
        '65536',
        String(body.length + 1),
        '0 0',
      ]);
      if (c > 0) lines[c] = `Content-Length: ${value}`;
      else lines.push(`Content-Length: ${value}`);
      break;
    }
    case 7: // NUL bytes
      lines[at] = insertAt(rng, lines[at] ?? '', '\0'.repeat(1 + rng.int(4)));
      break;
    case 8: // invalid UTF-8 (bytes written as latin1 chars)
      lines[at] = insertAt(
        rng,
        lines[at] ?? '',
        rng.pick(['\xc3\x28', '\xff\xfe', '\xed\xa0\x80', '\xf8\x88\x80\x80\x80', '\x80']),
      );
      break;
    case 9: // status line mangling
      lines[0] = rng.pick([
        'SIP/2.0 999 What',
        'SIP/2.0 20 OK',
        'SIP/2.0 200',
        'SIP/3.0 200 OK',
        'SIP/2.0  200 OK',
        `${lines[0]} trailing`,
        'INVITE sip:echo@127.0.0.1 SIP/7.0',
        'INVITE  sip:echo@127.0.0.1  SIP/2.0',
      ]);
      break;
    case 10: // compact form / case games
      lines[at] = (lines[at] ?? '').replace(/^([A-Za-z-]+):/, (_m, n: string) =>
        rng.chance(0.5) ? `${n.toUpperCase()} :` : `${n.toLowerCase()}:\t`,
      );
      break;
    case 11: // folding
      lines.splice(at, 0, rng.pick([' continued', '\tfolded', ' ']));
      break;
    case 12: // header without colon or empty name
      lines.splice(at, 0, rng.pick(['NoColonHere', ': value', ':', 'X-Bad Header: y']));
      break;
    case 13: // many headers
      for (let k = 0; k < rng.pick([50, 300, 2000]); k++) lines.splice(at, 0, `X-H${k}: v`);
      break;
    case 14: // swap a Via param
      lines[at] = (lines[at] ?? '').replace(
        /branch=[^;]*/,
        rng.pick(['branch=', 'branch', 'branch=z9hG4bK', 'branch=abc']),
      );
      break;
    default: {
      // truncation at any offset
      const whole = lines.join('\r\n') + '\r\n\r\n' + body;
      return whole.slice(0, rng.int(whole.length));
    }
  }
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

function mutateBytes(rng: Rng, buf: Buffer): Buffer {
  switch (rng.int(4)) {
    case 0:
      return rng.bytes(1 + rng.int(1400));
    case 1: {
      const copy = Buffer.from(buf);
      for (let k = 0; k < 1 + rng.int(8); k++) copy[rng.int(copy.length)] = rng.next() & 0xff;
      return copy;
    }
    case 2:
      return buf.subarray(0, rng.int(buf.length));
    default:
      return Buffer.concat([buf, rng.bytes(rng.int(200))]);
  }
}

function insertAt(rng: Rng, s: string, what: string): string {
  const i = rng.int(s.length + 1);
  return s.slice(0, i) + what + s.slice(i);
}

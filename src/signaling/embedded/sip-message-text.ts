// The few edits the transport makes on serialized SIP text before sip.js parses it or after
// sip.js built it: the top Via (RFC 3261 §18.2.1 received, RFC 3581 rport; our port and
// protocol on the way out) and our Contact (sip.js writes it without a port).

/**
 * Compact header forms: RFC 3261 §7.3.3 (and §20) and the extensions that define one (RFC 3265
 * o/u, RFC 3515 r, RFC 3892 b, RFC 3841 a/j/d, RFC 4028 x, RFC 4474 y/n).
 */
const COMPACT: Readonly<Record<string, string>> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

export interface MessageHead {
  /** Request line or status line. */
  readonly startLine: string;
  headerLines: string[];
  readonly body: string;
  /** A datagram without the empty line after its headers (splitMessage). */
  readonly unterminated?: boolean;
}

/**
 * Start line, unfolded header lines and body. `datagram`: a datagram whose header block ends at
 * its last CRLF without the empty line is split too, marked `unterminated`, so that it can be
 * answered 400 (a truncated request, RFC 4475 baddn as the RFC's archive has it) — never taken
 * for a whole message.
 */
export function splitMessage(text: string, datagram = false): MessageHead | null {
  let end = text.indexOf('\r\n\r\n');
  let unterminated = false;
  if (end < 0 && datagram && text.endsWith('\r\n')) {
    text += '\r\n';
    end = text.length - 4;
    unterminated = true;
  }
  if (end < 0) return null;
  const lines = text.slice(0, end).split('\r\n');
  const startLine = lines.shift() ?? '';
  const head: MessageHead = { startLine, headerLines: unfold(lines), body: text.slice(end + 4) };
  return unterminated ? { ...head, unterminated } : head;
}

export function joinMessage(head: MessageHead): string {
  return `${head.startLine}\r\n${head.headerLines.join('\r\n')}\r\n\r\n${head.body}`;
}

/** Folded continuation lines (RFC 3261 §7.3.1) joined onto their header. */
function unfold(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && out.length > 0) {
      out[out.length - 1] += ' ' + line.trim();
    } else {
      out.push(line);
    }
  }
  return out;
}

export function headerName(line: string): string {
  const colon = line.indexOf(':');
  if (colon < 0) return '';
  const name = line.slice(0, colon).trim().toLowerCase();
  return COMPACT[name] ?? name;
}

export function headerValue(line: string): string {
  return line.slice(line.indexOf(':') + 1).trim();
}

export function findHeader(head: MessageHead, name: string): string | undefined {
  const line = head.headerLines.find((l) => headerName(l) === name);
  return line === undefined ? undefined : headerValue(line);
}

export interface ViaValue {
  /** UDP, TCP, ... upper case. */
  readonly protocol: string;
  readonly host: string;
  readonly port: number | undefined;
  /** Parameters in order; a flag parameter (`;rport`) has value ''. */
  readonly params: Map<string, string>;
}

const VIA =
  /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s;:]+)(?:\s*:\s*(\d+))?\s*((?:;[^;,]*)*)$/;

export function parseVia(value: string): ViaValue | null {
  const m = VIA.exec(value.trim());
  if (m === null) return null;
  const params = new Map<string, string>();
  for (const p of (m[4] ?? '').split(';').slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) params.set(p.trim().toLowerCase(), '');
    else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
  }
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  return { protocol: m[1]!.toUpperCase(), host: m[2]!, port, params };
}

export function formatVia(via: ViaValue): string {
  const params = [...via.params].map(([k, v]) => (v === '' ? `;${k}` : `;${k}=${v}`)).join('');
  return `SIP/2.0/${via.protocol} ${via.host}${via.port === undefined ? '' : `:${via.port}`}${params}`;
}

/** Index of the top Via header line and the top value's text within it (values split on commas). */
function topVia(head: MessageHead): { index: number; value: string; rest: string } | null {
  const index = head.headerLines.findIndex((l) => headerName(l) === 'via');
  if (index < 0) return null;
  const value = headerValue(head.headerLines[index]!);
  const comma = value.indexOf(',');
  return comma < 0
    ? { index, value, rest: '' }
    : { index, value: value.slice(0, comma), rest: value.slice(comma) };
}

export function readTopVia(head: MessageHead): ViaValue | null {
  const top = topVia(head);
  return top === null ? null : parseVia(top.value);
}

/** Replaces the top Via value (keeps any further values on the same line). */
export function writeTopVia(head: MessageHead, via: ViaValue): void {
  const top = topVia(head);
  if (top === null) return;
  head.headerLines[top.index] = `Via: ${formatVia(via)}${top.rest}`;
}

/**
 * RFC 3261 §18.2.1: `received` when the sent-by host is not the packet's source;
 * RFC 3581 §4: `rport` filled in (and then `received` always) when the client asked for it.
 */
export function stampReceived(via: ViaValue, sourceAddress: string, sourcePort: number): ViaValue {
  const params = new Map(via.params);
  const wantsRport = params.has('rport');
  if (wantsRport) params.set('rport', String(sourcePort));
  if (wantsRport || via.host.replace(/^\[|\]$/g, '') !== sourceAddress) params.set('received', sourceAddress);
  return { ...via, params };
}

/**
 * A copy of `text` that shares no memory with the message it was cut from. V8 keeps a slice of
 * a string (a Call-ID, a branch) pointing into the whole message, so a Map keyed by such slices
 * holds every message it ever saw — up to 64 KB each (measured: 11 MB of fuzz messages still
 * held by the transport's Call-ID map a minute after the fuzz). Use it for every long-lived key.
 */
export function detached(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

// Checks on an incoming message before sip.js sees it. sip.js silently drops most broken
// requests; RFC 3261 §8.2 and §21.4.1 want a 400 when we can still answer (we have the
// headers a response copies: Via, From, To, Call-ID, CSeq), and a drop when we cannot.
import { createHash } from 'node:crypto';
import { requireApplies, unsupportedOptionTags } from '../sip-extensions.js';
import { findHeader, headerName, type MessageHead } from './sip-message-text.js';

export type Sanity =
  | { readonly ok: true; readonly head: MessageHead }
  | { readonly ok: false; readonly reason: string; readonly answerable: boolean };

/** Method = token (RFC 3261 §25.1), so `!interesting-Method0123456789_*+`.%~` is one (RFC 4475 intmeth). */
const TOKEN = "[A-Za-z0-9.!%*_+`'~-]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) (\\S+) SIP\\/(\\d+\\.\\d+)$`);
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ?.*$/;
const CSEQ = new RegExp(`^(\\d{1,10})\\s+(${TOKEN})$`);
const MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
/** Headers that may appear once only (§20: not a comma-separated list; RFC 4475 mcl01, multi01). */
const SINGLE = ['from', 'to', 'call-id', 'cseq', 'content-length', 'max-forwards', 'content-type'] as const;

/** Body trimmed to Content-Length on datagrams (§18.3: extra bytes are discarded). */
export function checkMessage(head: MessageHead, datagram: boolean, maxHeaders = Infinity): Sanity {
  const isResponse = head.startLine.startsWith('SIP/');
  const missing = MANDATORY.filter((h) => findHeader(head, h) === undefined);
  // A response needs only a Via to find its way back (§8.2.6.2 copies what the request has; a
  // request without From/To/Call-ID still gets its 400, RFC 4475 insuf).
  const answerable = !isResponse && findHeader(head, 'via') !== undefined && !/^ACK /.test(head.startLine);
  const fail = (reason: string): Sanity => ({ ok: false, reason, answerable });
  if (isResponse ? !STATUS_LINE.test(head.startLine) : !REQUEST_LINE.test(head.startLine)) {
    // A request line with extra or missing spaces (RFC 4475 lwsruri, lwsstart, trws) is still a
    // request we can answer 400, if it has a Via; anything else is noise.
    const looksLikeRequest = /^[A-Za-z]+\s/.test(head.startLine);
    return { ok: false, reason: 'bad start line', answerable: answerable && looksLikeRequest };
  }
  if (missing.length > 0) return fail(`missing ${missing.join(', ')}`);
  if (head.unterminated === true) return fail('no empty line after the headers');
  if (head.headerLines.some((l) => headerName(l) === '')) return fail('header line without a colon');
  if (head.headerLines.length > maxHeaders) return fail(`more than ${maxHeaders} header lines`);
  for (const name of SINGLE) {
    if (head.headerLines.filter((l) => headerName(l) === name).length > 1)
      return fail(`more than one ${name}`);
  }
  const cseq = CSEQ.exec(findHeader(head, 'cseq')!);
  if (cseq === null || Number(cseq[1]) > 2 ** 31 - 1) return fail('bad CSeq');
  // Methods are case-sensitive (§7.1).
  if (!isResponse && cseq[2]! !== head.startLine.split(' ')[0]!) {
    return fail('CSeq method differs from the request method');
  }
  const lengthText = findHeader(head, 'content-length');
  if (lengthText !== undefined) {
    if (!/^\d{1,7}$/.test(lengthText)) return fail('bad Content-Length');
    const bodyBytes = Buffer.byteLength(head.body, 'utf8');
    const declared = Number(lengthText);
    if (bodyBytes < declared) return fail('body shorter than Content-Length');
    if (datagram && bodyBytes > declared) {
      return {
        ok: true,
        head: { ...head, body: Buffer.from(head.body, 'utf8').subarray(0, declared).toString('utf8') },
      };
    }
  }
  return { ok: true, head };
}

/** Option tags a request requires that we do not support (../sip-extensions.ts says which methods). */
export function unsupportedExtensions(head: MessageHead): string[] {
  if (!requireApplies(head.startLine.slice(0, head.startLine.indexOf(' ')))) return [];
  return unsupportedOptionTags(
    head.headerLines.filter((l) => headerName(l) === 'require').map((l) => l.slice(l.indexOf(':') + 1)),
  );
}

/** Methods we implement as a UAS; the rest known to RFC 3261 and its extensions get 405 or 481. */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY';
/** Methods that only exist inside a dialog or transaction: out of one, 481 (RFC 3262 §3, RFC 3311 §5.2, RFC 6086 §4.2.1). */
const DIALOG_ONLY = new Set(['PRACK', 'UPDATE', 'INFO']);
/** Methods sip.js handles out of a dialog the way a UAS should (INVITE, OPTIONS; ACK absorbed; CANCEL and BYE 481 without a match). */
const OUT_OF_DIALOG = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS']);
/** Methods of RFC 3261 and its extensions we recognise but do not serve (405, §8.2.1). */
const KNOWN = new Set([
  ...OUT_OF_DIALOG,
  ...DIALOG_ONLY,
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'MESSAGE',
  'REFER',
]);
/** Bodies an INVITE may carry for us (RFC 3261 §8.2.3; multipart/mixed may wrap the SDP, RFC 5621). */
const ACCEPT = 'application/sdp, multipart/mixed';

export interface Refusal {
  readonly status: number;
  readonly phrase: string;
  readonly extra?: string[];
}

/**
 * A request whose start line we cannot serve, answered before anything else is read: another
 * SIP version (§8.2: 505, RFC 4475 badvers — its Via says SIP/7.0 too) or a method we do not
 * know (§8.2.1, §21.5.2: 501; RFC 4475 intmeth, esc02).
 */
export function refuseStartLine(head: MessageHead): Refusal | null {
  const [method = '', , version = ''] = head.startLine.split(' ');
  if (method === 'ACK') return null;
  if (version !== 'SIP/2.0') return { status: 505, phrase: 'Version Not Supported' };
  if (!KNOWN.has(method)) return { status: 501, phrase: 'Not Implemented', extra: [`Allow: ${ALLOW}`] };
  return null;
}

/** An Accept header (absent = application/sdp, §20.1) that allows application/sdp. */
function acceptsSdp(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept
    .split(',')
    .map((range) => range.split(';')[0]!.trim().toLowerCase())
    .some((range) => range === 'application/sdp' || range === 'application/*' || range === '*/*');
}

/**
 * What a UAS answers before its method-specific processing (RFC 3261 §8.2.1–8.2.3), for the
 * cases sip.js gets wrong: it throws on a Request-URI of another scheme ("Request-URI
 * undefined") and on out-of-dialog methods it did not expect (PRACK), and never checks the SIP
 * version or a body it cannot read. `ruriParsed` says whether sip.js's grammar read the URI;
 * `overTls` whether the request came over TLS (a `sips:` Request-URI is taken only then).
 */
export function refuseRequest(head: MessageHead, ruriParsed: boolean, overTls = false): Refusal | null {
  const [method = '', requestUri = ''] = head.startLine.split(' ');
  if (method === 'ACK') return null; // never answered (§17.1.1.3)
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(requestUri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { status: 400, phrase: 'Bad Request (Request-URI)' };
  // §8.2.2.1; sips: asks for TLS on every hop (§26.2.2): we take it only when the last hop was TLS.
  if (scheme !== 'sip' && !(scheme === 'sips' && overTls))
    return { status: 416, phrase: 'Unsupported URI Scheme' };
  if (!ruriParsed) return { status: 400, phrase: 'Bad Request (Request-URI)' };
  const inDialog = /;\s*tag\s*=/i.test(findHeader(head, 'to') ?? '');
  if (!inDialog && DIALOG_ONLY.has(method)) return { status: 481, phrase: 'Call/Transaction Does Not Exist' };
  // We never send a reliable provisional (no 100rel), so no PRACK can match one (RFC 3262 §3);
  // sip.js's session throws "Unimplemented" on an in-dialog PRACK.
  if (method === 'PRACK') return { status: 481, phrase: 'Call/Transaction Does Not Exist' };
  if (!inDialog && !OUT_OF_DIALOG.has(method)) {
    return { status: 405, phrase: 'Method Not Allowed', extra: [`Allow: ${ALLOW}`] };
  }
  if (method === 'INVITE' && !acceptsSdp(findHeader(head, 'accept'))) {
    // §8.2.3: our answer is SDP; a request that accepts no such body gets 406.
    return { status: 406, phrase: 'Not Acceptable', extra: [`Accept: ${ACCEPT}`] };
  }
  if (method === 'INVITE' && head.body.length > 0) {
    const type = (findHeader(head, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/sdp' && type !== 'multipart/mixed') {
      return { status: 415, phrase: 'Unsupported Media Type', extra: [`Accept: ${ACCEPT}`] };
    }
    const encoding = (findHeader(head, 'content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') {
      return {
        status: 415,
        phrase: 'Unsupported Media Type',
        extra: [`Accept: ${ACCEPT}`, 'Accept-Encoding: identity'],
      };
    }
  }
  return null;
}

/**
 * A stateless response built from the request's own headers (§8.2.6.2). The To tag is derived
 * from the request, so a retransmission gets the same one (§8.2.7).
 */
export function statelessResponse(
  head: MessageHead,
  status: number,
  phrase: string,
  extra: string[] = [],
): string {
  const copy = head.headerLines.filter((l) => ['via', 'from', 'call-id', 'cseq'].includes(headerName(l)));
  const to = findHeader(head, 'to') ?? '';
  const tag = createHash('sha1')
    .update(['call-id', 'from', 'cseq', 'via'].map((h) => findHeader(head, h) ?? '').join('\n'))
    .digest('hex')
    .slice(0, 10);
  const toWithTag = /;\s*tag=/i.test(to) ? to : `${to};tag=${tag}`;
  const line = `SIP/2.0 ${status} ${phrase.replace(/[\r\n]/g, ' ')}`;
  return [line, ...copy, `To: ${toWithTag}`, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

/**
 * An RFC 2543 INVITE may come without Contact (RFC 4475 inv2543); its remote target is then the
 * From URI (RFC 2543 §6.13). sip.js refuses such an INVITE with 400, so the From URI is written
 * in as its Contact.
 */
export function rfc2543Contact(head: MessageHead): void {
  if (!head.startLine.startsWith('INVITE ') || findHeader(head, 'contact') !== undefined) return;
  const from = findHeader(head, 'from') ?? '';
  const uri = /<([^>]+)>/.exec(from)?.[1] ?? /^\s*(sips?:[^;\s]+)/i.exec(from)?.[1];
  if (uri !== undefined) head.headerLines.push(`Contact: <${uri}>`);
}

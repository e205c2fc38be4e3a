// Checks on an incoming message before sip.js sees it. sip.js silently drops most broken
// requests; RFC 3261 §8.2 and §21.4.1 want a 400 when we can still answer (we have the
// headers a response copies: Via, From, To, Call-ID, CSeq), and a drop when we cannot.
import { createHash } from 'node:crypto';
import { unsupportedOptionTags } from '../sip-extensions.js';
import { findHeader, headerName, type MessageHead } from './sip-message-text.js';

export type Sanity =
  | { readonly ok: true; readonly head: MessageHead }
  | { readonly ok: false; readonly reason: string; readonly answerable: boolean };

const REQUEST_LINE = /^([A-Za-z]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ?.*$/;
const MANDATORY = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

/** Body trimmed to Content-Length on datagrams (§18.3: extra bytes are discarded). */
export function checkMessage(head: MessageHead, datagram: boolean): Sanity {
  const isResponse = head.startLine.startsWith('SIP/');
  const missing = MANDATORY.filter((h) => findHeader(head, h) === undefined);
  const answerable = !isResponse && missing.length === 0 && !/^ACK /i.test(head.startLine);
  const fail = (reason: string): Sanity => ({ ok: false, reason, answerable });
  if (isResponse ? !STATUS_LINE.test(head.startLine) : !REQUEST_LINE.test(head.startLine)) {
    return { ok: false, reason: 'bad start line', answerable: false };
  }
  if (missing.length > 0) return { ok: false, reason: `missing ${missing.join(', ')}`, answerable: false };
  if (head.headerLines.some((l) => headerName(l) === '')) return fail('header line without a colon');
  const cseq = /^(\d{1,10})\s+([A-Za-z]+)$/.exec(findHeader(head, 'cseq')!);
  if (cseq === null || Number(cseq[1]) > 2 ** 31 - 1) return fail('bad CSeq');
  if (!isResponse && cseq[2]!.toUpperCase() !== head.startLine.split(' ')[0]!.toUpperCase()) {
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

/** Option tags an INVITE requires that we do not support (../sip-extensions.ts). */
export function unsupportedExtensions(head: MessageHead): string[] {
  if (head.startLine.split(' ')[0]!.toUpperCase() !== 'INVITE') return [];
  return unsupportedOptionTags(
    head.headerLines.filter((l) => headerName(l) === 'require').map((l) => l.slice(l.indexOf(':') + 1)),
  );
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

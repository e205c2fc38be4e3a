// RFC 3261 §17.2.3 server transaction matching, which sip.js 0.21.2 reduces to the Via branch
// alone (`userAgentServers.get(message.viaBranch)`): two requests with one branch but another
// sent-by or method (RFC 4475 sends several such) were taken as retransmissions and never
// answered. The transport makes sip.js's lookup right by handing it a branch that carries the
// whole key — the branch, the top Via sent-by and the method, with ACK and CANCEL keyed as the
// INVITE they belong to (§17.2.3 for ACK; §9.2 for the transaction a CANCEL cancels; sip.js
// answers CANCEL statelessly, so the CANCEL itself needs no transaction of its own) — and puts
// the original branch back in the Via of every response it sends.
//
// The key also holds the Call-ID and CSeq number, which §17.2.3 leaves out: a retransmission,
// the ACK of a non-2xx and a CANCEL always carry the INVITE's (§17.1.1.3, §9.1), so no match the
// RFC makes is lost, while two different requests that reuse a branch (a broken client; RFC 4475
// has three such pairs) are never taken for one — a request is never left unanswered.
//
// A request without the RFC 3261 magic cookie (an RFC 2543 peer, §17.2.3's second procedure)
// is keyed by Request-URI, From tag, Call-ID, CSeq number and top Via instead; a request with no
// branch at all gets its branch removed again on the way out.
import { createHash } from 'node:crypto';
import { detached, findHeader, type MessageHead, type ViaValue } from './sip-message-text.js';

const MAGIC_COOKIE = 'z9hG4bK';
/** What we append; `~` is a token character (§25.1), so the result is still a valid branch. */
const MARK = '~gs';
/** A synthesized branch that stands for "the request had none". */
const NO_BRANCH = `${MAGIC_COOKIE}${MARK}none`;
const SUFFIX = new RegExp(`${MARK}[0-9a-f]{12}$`);

/** The branch sip.js sees for an incoming request (a string of its own: it becomes a map key). */
export function transactionBranch(head: MessageHead, via: ViaValue): string {
  return detached(keyedBranch(head, via));
}

function keyedBranch(head: MessageHead, via: ViaValue): string {
  const method = head.startLine.slice(0, head.startLine.indexOf(' ')).toUpperCase();
  const methodKey = method === 'ACK' || method === 'CANCEL' ? 'INVITE' : method;
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? ''}`;
  const branch = via.params.get('branch') ?? '';
  const cseq = /^\s*(\d+)/.exec(findHeader(head, 'cseq') ?? '')?.[1] ?? '';
  const callId = findHeader(head, 'call-id') ?? '';
  if (branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length) {
    return `${branch}${MARK}${digest(`${sentBy}|${methodKey}|${callId}|${cseq}`)}`;
  }
  // §17.2.3, RFC 2543 compatibility: the To tag is left out because the ACK carries ours.
  const requestUri = head.startLine.split(' ')[1] ?? '';
  const fromTag = /;\s*tag\s*=\s*([^;,\s]+)/i.exec(findHeader(head, 'from') ?? '')?.[1] ?? '';
  const key = [requestUri, fromTag, callId, cseq, sentBy, branch, methodKey].join('|');
  return branch === '' ? `${NO_BRANCH}${MARK}${digest(key)}` : `${branch}${MARK}${digest(key)}`;
}

/** The branch the peer wrote, from the one transactionBranch made; null when it wrote none. */
export function peerBranch(branch: string): string | null | undefined {
  if (!SUFFIX.test(branch)) return undefined; // not one of ours (our own requests' branches)
  const original = branch.slice(0, -(MARK.length + 12));
  return original === NO_BRANCH ? null : original;
}

function digest(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 12);
}

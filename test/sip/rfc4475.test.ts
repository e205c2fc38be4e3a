// RFC 4475, all of it, against `grok-sip start`: each torture message (fixtures/rfc4475, exact
// bytes from the RFC's archive) sent over UDP on its own, the answer checked against what the RFC
// says an endpoint does (fixtures/rfc4475/expected.json), and the process alive at the end.
// grok-sip is a UAS that is not a registrar: RFC 3261 §8.2.1 (method inspection, 405) comes
// before any header inspection, so a REGISTER is answered 405 whatever else it carries.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startGrokSipProcess } from './support/grok-sip-process.js';
import { UdpPeer, statusOf } from './support/raw-sip.js';

const SIP_PORT = 21020;
const HTTP_PORT = 21021;
const RTP_MIN = 21500;
const dir = path.join(import.meta.dirname, 'fixtures', 'rfc4475');

interface Expected {
  name: string;
  file: string;
  section: string;
  kind: 'request' | 'response';
  valid: boolean;
  expect: 'answer' | 'status' | 'drop' | '400-or-drop' | 'accept';
  status?: number;
  alsoAllowed?: (number | 'answer')[];
  startLine: string;
}

const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected[];

/** A header's first value from the header block (folded lines joined, §7.3.1). */
function header(text: string, ...names: string[]): string | undefined {
  const end = text.indexOf('\r\n\r\n');
  const block = (end < 0 ? text : text.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  for (const name of names) {
    const m = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(block);
    if (m) return m[1]!.trim();
  }
  return undefined;
}

const branchOf = (text: string): string | undefined =>
  /;\s*branch\s*=\s*([^;,\s]+)/i.exec(header(text, 'Via', 'v')?.split(',')[0] ?? '')?.[1];

/** The statuses we accept for a message, or 'none' when nothing may come back. */
function allowed(e: Expected): { statuses: Set<number>; anyAnswer: boolean; none: boolean } {
  const statuses = new Set<number>();
  let anyAnswer = false;
  let none = false;
  if (e.expect === 'status' && e.status !== undefined) statuses.add(e.status);
  if (e.expect === 'answer') anyAnswer = true;
  if (e.expect === 'drop' || e.expect === 'accept') none = true;
  if (e.expect === '400-or-drop') {
    statuses.add(400);
    none = true;
  }
  for (const a of e.alsoAllowed ?? []) {
    if (a === 'answer') anyAnswer = true;
    else statuses.add(a);
  }
  if (e.startLine.startsWith('REGISTER ')) statuses.add(405);
  return { statuses, anyAnswer, none };
}

t.test('RFC 4475 torture messages, one by one, against grok-sip start', async (t) => {
  t.equal(expected.length, 49, 'all 49 messages of RFC 4475 §3 are in the fixtures');
  const gs = await startGrokSipProcess(t, { sipPort: SIP_PORT, httpPort: HTTP_PORT, rtpMin: RTP_MIN });
  const peer = await UdpPeer.open(t);
  const probe = await UdpPeer.open(t);
  for (const e of expected) {
    const bytes = readFileSync(path.join(dir, e.file));
    const text = bytes.toString('latin1');
    const branch = branchOf(text);
    const callId = header(text, 'Call-ID', 'i');
    const ours = (m: string): boolean =>
      statusOf(m) > 0 &&
      branchOf(m) === branch &&
      (callId === undefined || header(m, 'Call-ID', 'i') === callId);
    const rejectedBefore = await gs.metric('grok_sip_rejected_input_total');
    const seen = peer.received.length;
    peer.send(bytes, SIP_PORT);
    const rule = allowed(e);
    // A final answer within 2 s, or (where nothing may come back) 600 ms of silence.
    const until = Date.now() + (rule.none && rule.statuses.size === 0 ? 600 : 2000);
    let finals: number[] = [];
    while (Date.now() < until) {
      finals = peer.received
        .slice(seen)
        .filter(ours)
        .map(statusOf)
        .filter((s) => s >= 200);
      if (finals.length > 0) break;
      await sleep(20);
    }
    const first = finals[0];
    const label = `${e.section} ${e.name} (${e.valid ? 'valid' : 'invalid'} ${e.kind})`;
    if (first === undefined) {
      t.ok(rule.none, `${label}: no answer, which the RFC allows`);
    } else if (rule.statuses.has(first)) {
      t.pass(`${label}: ${first}`);
    } else {
      // "answer": a well-formed request gets a final response that is not a complaint about its form.
      t.ok(
        rule.anyAnswer && first !== 400,
        `${label}: ${first} (expected ${[...rule.statuses].join('/') || 'an answer'})`,
      );
    }
    if (e.kind === 'response' && e.expect === 'accept') {
      const rejectedAfter = await gs.metric('grok_sip_rejected_input_total');
      t.equal(rejectedAfter, rejectedBefore, `${label}: parsed, not rejected`);
    }
    t.ok(gs.alive(), `${label}: process alive`);
    if (!gs.alive()) {
      t.comment(gs.output().slice(-3000));
      return;
    }
  }
  t.ok(await gs.answersOptions(probe), 'still answers OPTIONS after all of them');
});

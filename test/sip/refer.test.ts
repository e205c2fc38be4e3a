// Blind transfer (RFC 3515) from the embedded backend to a real transferee: SIPp calls us, we
// REFER it to sip:4001@127.0.0.1 and follow its NOTIFY sipfrags to the final status; a second
// SIPp refuses the REFER with 603. SIPp's message trace gives us the REFER as it went on the wire.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { EmbeddedBackend } from '../../src/signaling/embedded/embedded-backend.js';
import type { Dialog, ReferOutcome } from '../../src/signaling/signaling-backend.js';
import { answerFor, startEndpoint, type Tap } from './support/sip-endpoint.js';
import { runSipp } from './support/run-peer.js';

const PORT = 17700;
const SIPP_PORT = 17710;
const MEDIA_PORT = 17720;
const TARGET = 'sip:4001@127.0.0.1';
const scenarios = path.resolve(import.meta.dirname, '../../sip-config/sipp');

/** Answers the one call, REFERs it once acknowledged, then (optionally) hangs up. */
function transferOnAnswer(
  backend: EmbeddedBackend,
  hangupAfter: boolean,
): { outcome: Promise<ReferOutcome>; ended: Promise<string> } {
  let gotOutcome!: (o: ReferOutcome) => void;
  let gotEnd!: (reason: string) => void;
  const outcome = new Promise<ReferOutcome>((resolve) => (gotOutcome = resolve));
  const ended = new Promise<string>((resolve) => (gotEnd = resolve));
  backend.onIncomingCall((call) => {
    const ours = answerFor(call.offerSdp, 41700);
    if (ours.kind !== 'answer') return call.reject(ours.status);
    void call.answer(ours.sdp).then(async (dialog: Dialog) => {
      dialog.events.on('terminated', ({ reason }) => gotEnd(reason));
      const result = await dialog.refer(TARGET);
      gotOutcome(result);
      if (hangupAfter) await dialog.hangup();
    });
  });
  return { outcome, ended };
}

async function traceDir(t: Tap): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'grok-sip-refer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The first received request of `method` in a SIPp -trace_msg file. */
function receivedRequest(trace: string, method: string): string {
  for (const block of trace.split(/-{5,} [^\n]*\n/)) {
    const text = block.replace(/^\s*UDP message received \[\d+\] bytes :\s*/, '');
    if (text !== block && text.startsWith(`${method} `)) return text;
  }
  return '';
}

const headerOf = (message: string, name: string): string =>
  new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(message)?.[1]?.trim() ?? '';

/** One SIPp transferee against a fresh endpoint; `case` picks distinct ports per scenario. */
async function transferAgainst(
  t: Tap,
  scenario: string,
  index: number,
  opts: { hangupAfter: boolean; messageFile?: string },
): Promise<{ code: number | null; stderr: string; outcome: ReferOutcome; ended: string }> {
  const port = PORT + index;
  const backend = await startEndpoint(t, port);
  const { outcome, ended } = transferOnAnswer(backend, opts.hangupAfter);
  const result = await runSipp(
    t,
    `127.0.0.1:${port}`,
    [
      ...['-sf', path.join(scenarios, scenario), '-s', 'transfer', '-i', '127.0.0.1'],
      ...['-p', String(SIPP_PORT + index), '-mp', String(MEDIA_PORT + 4 * index), '-m', '1'],
      ...(opts.messageFile !== undefined ? ['-trace_msg', '-message_file', opts.messageFile] : []),
    ],
    { timeoutSec: 20 },
  );
  const failure = result.code === 0 ? '' : result.stderr.slice(-400);
  return { code: result.code, stderr: failure, outcome: await outcome, ended: await ended };
}

t.test('REFER accepted: 202, NOTIFY 100 then 200 → outcome 200, then our BYE', async (t) => {
  const messages = path.join(await traceDir(t), 'accept.log');
  const run = await transferAgainst(t, 'uac_accept_refer.xml', 0, {
    hangupAfter: true,
    messageFile: messages,
  });
  t.equal(run.code, 0, `SIPp saw REFER, its NOTIFYs answered 200, then our BYE ${run.stderr}`);
  t.same(run.outcome, { accepted: true, status: 200, reason: 'OK' }, 'final sipfrag status');
  t.equal(run.ended, 'local-bye');

  const refer = receivedRequest(await readFile(messages, 'utf8'), 'REFER');
  t.match(refer, /^REFER sip:sipp@127\.0\.0\.1:17710/, 'REFER goes to the remote target (its Contact)');
  t.match(headerOf(refer, 'Refer-To'), /^<?sip:4001@127\.0\.0\.1>?$/, 'Refer-To is the target');
  t.match(headerOf(refer, 'Referred-By'), /^<sip:[^@>]+@127\.0\.0\.1(:\d+)?(;[^>]*)?>/, 'Referred-By is us');
  t.match(
    headerOf(refer, 'Contact'),
    new RegExp(`^<sip:[^@>]+@127\\.0\\.0\\.1:${PORT}[;>]`),
    'Contact is us',
  );
  t.match(headerOf(refer, 'CSeq'), /^\d+ REFER$/);
  t.match(headerOf(refer, 'To'), /;tag=\d+SIPpTag001/, 'in the dialog (SIPp tag on To)');
});

t.test('REFER refused with 603 → not accepted, the call goes on until the caller hangs up', async (t) => {
  const run = await transferAgainst(t, 'uac_refuse_refer.xml', 1, { hangupAfter: false });
  t.equal(run.code, 0, `SIPp refused the REFER and sent BYE ${run.stderr}`);
  t.same(run.outcome, { accepted: false, status: 603, reason: 'Decline' });
  t.equal(run.ended, 'remote-bye', 'the refusal did not end the call');
});

t.test('transferee hangs up before the final NOTIFY → outcome at once, not after 120 s', async (t) => {
  const run = await transferAgainst(t, 'uac_refer_bye_before_final.xml', 2, { hangupAfter: false });
  t.equal(run.code, 0, `SIPp got 200 to its NOTIFY and BYE ${run.stderr}`);
  t.same(run.outcome, { accepted: true, status: 0, reason: 'call ended before the final NOTIFY' });
  t.equal(run.ended, 'remote-bye');
});

t.test('refer subscription terminated without a final status → 408', async (t) => {
  const run = await transferAgainst(t, 'uac_refer_subscription_timeout.xml', 3, { hangupAfter: false });
  t.equal(run.code, 0, `SIPp got 200 to both NOTIFYs and to its BYE ${run.stderr}`);
  t.same(run.outcome, { accepted: true, status: 408, reason: 'subscription ended without a final status' });
  t.equal(run.ended, 'remote-bye');
});

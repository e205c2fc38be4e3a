// Floods against `grok-sip start` with 20 calls up and talking (SIPp rtp_stream of a spoken
// phrase, echoed by the local agent): an INVITE flood of 1,000/s for 10 s from one source, then
// REGISTER and OPTIONS floods. The calls in progress keep clean audio (0 lost, no skipped media
// ticks); flood requests get 503 past maxCalls or the per-source rate limit (sip.limits), and
// the flood is logged once per source. Counts are printed; timings are never asserted.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { spokenPhraseDir } from '../call/support/spoken-phrase.js';
import { startGrokSipProcess } from './support/grok-sip-process.js';
import { UdpPeer, offer, request, statusOf } from './support/raw-sip.js';
import { runSipp } from './support/run-peer.js';

const SIP_PORT = 21010;
const HTTP_PORT = 21011;
const RTP_MIN = 21300;
const SIPP_MEDIA_PORT = 21600;
const CALLS = 20;
const root = path.resolve(import.meta.dirname, '..', '..');

/** `perSec` requests a second for `seconds`, paced in 20 ms slices; returns how many were sent. */
async function flood(
  peer: UdpPeer,
  perSec: number,
  seconds: number,
  make: (i: number) => string,
): Promise<number> {
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * perSec);
    for (; sent < due; sent++) peer.send(make(sent), SIP_PORT);
    await sleep(20);
  }
  return sent;
}

t.setTimeout(120_000);

t.test(`${CALLS} talking calls through INVITE, REGISTER and OPTIONS floods`, async (t) => {
  const dir = t.testdir();
  const cdrFile = path.join(dir, 'cdr.jsonl');
  const gs = await startGrokSipProcess(t, {
    sipPort: SIP_PORT,
    httpPort: HTTP_PORT,
    rtpMin: RTP_MIN,
    sipYaml: `  maxCalls: ${CALLS}`,
    topYaml: `cdr: { file: ${cdrFile} }`,
  });
  // The talking calls: the long scenario cut to 20 s (the floods take ~15 s).
  const phrase = spokenPhraseDir(t, 'flood');
  const scenario = path.join(phrase, 'talk.xml');
  writeFileSync(
    scenario,
    readFileSync(path.join(root, 'sip-config/sipp/uac_talk_long_pcmu.xml'), 'utf8').replace(
      '<pause milliseconds="30000"/>',
      '<pause milliseconds="20000"/>',
    ),
  );
  const calls = runSipp(
    t,
    `127.0.0.1:${SIP_PORT}`,
    [
      '-sf',
      scenario,
      '-s',
      'echo',
      '-p',
      String(SIP_PORT + 2),
      '-mp',
      String(SIPP_MEDIA_PORT),
      '-m',
      String(CALLS),
      '-l',
      String(CALLS),
      '-r',
      '20',
    ],
    { timeoutSec: 60, cwd: phrase },
  );
  const until = Date.now() + 10_000;
  while ((await gs.metric('grok_sip_active_calls')) < CALLS && Date.now() < until) await sleep(100);
  t.equal(await gs.metric('grok_sip_active_calls'), CALLS, `${CALLS} calls up`);
  const skippedBefore = await gs.metric('grok_sip_media_clock_skipped_ticks_total');

  const flooder = await UdpPeer.open(t);
  flooder.socket.removeAllListeners('message');
  const statuses = new Map<number, number>();
  flooder.socket.on('message', (m) => {
    const s = statusOf(m.toString('latin1', 0, 40));
    statuses.set(s, (statuses.get(s) ?? 0) + 1);
  });
  const uri = `sip:echo@127.0.0.1:${SIP_PORT}`;
  const invites = await flood(flooder, 1000, 10, (i) =>
    request(
      {
        method: 'INVITE',
        uri,
        branch: `z9hG4bK-fi-${i}`,
        callId: `flood-inv-${i}`,
        cseq: 1,
        rport: true,
        body: offer('g711', 9),
      },
      flooder.port,
    ),
  );
  const registers = await flood(flooder, 1000, 2, (i) =>
    request(
      {
        method: 'REGISTER',
        uri: `sip:127.0.0.1:${SIP_PORT}`,
        branch: `z9hG4bK-fr-${i}`,
        callId: `flood-reg-${i}`,
        cseq: 1,
        rport: true,
      },
      flooder.port,
    ),
  );
  const options = await flood(flooder, 1000, 2, (i) =>
    request(
      { method: 'OPTIONS', uri, branch: `z9hG4bK-fo-${i}`, callId: `flood-opt-${i}`, cseq: 1, rport: true },
      flooder.port,
    ),
  );
  await sleep(500);
  const skippedAfter = await gs.metric('grok_sip_media_clock_skipped_ticks_total');
  const lateTicks = await gs.metric('grok_sip_media_clock_late_ticks_total');
  const got = Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]));
  t.comment(
    `sent ${invites} INVITE, ${registers} REGISTER, ${options} OPTIONS; answers by status ${JSON.stringify(got)}; late media ticks ${lateTicks}`,
  );
  t.notOk(statuses.has(200) && (statuses.get(200) ?? 0) > options, 'no flood INVITE was answered 200');
  t.ok(
    (statuses.get(503) ?? 0) >= (invites + registers + options) / 2,
    'the flood is answered 503 (capacity or rate)',
  );
  t.equal(
    skippedAfter - skippedBefore,
    0,
    `no media tick skipped during the floods (${skippedAfter - skippedBefore})`,
  );

  const r = await calls;
  t.equal(r.code, 0, `the ${CALLS} talking calls completed (rc ${r.code}) ${r.stderr.slice(-300)}`);
  // Every talking call's CDR: ended by the caller, nothing lost.
  await sleep(500);
  const records = readFileSync(cdrFile, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as { callId: string; endReason: string; media?: { lost: number; packetsIn: number } },
    )
    .filter((c) => !c.callId.startsWith('flood-'));
  const talked = records.filter((c) => c.endReason === 'remote-bye');
  t.equal(talked.length, CALLS, `${CALLS} talking calls ended by their BYE`);
  t.same(
    talked.map((c) => c.media?.lost),
    talked.map(() => 0),
    `0 RTP lost on every talking call (packets in: ${talked.map((c) => c.media?.packetsIn).join(', ')})`,
  );
  const floodLines = gs
    .output()
    .split('\n')
    .filter((l) => l.includes('"kind":"sip-flood"'));
  t.equal(floodLines.length, 1, 'the flood is logged once for its source');
  t.ok(gs.alive(), 'process alive');
});

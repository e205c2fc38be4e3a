// Mutation fuzzing of `grok-sip start` over UDP: 100,000 seeded mutations of valid INVITE,
// REGISTER, OPTIONS, BYE, ACK, CANCEL, in-dialog requests and responses (support/sip-mutator.ts),
// sent in bounded bursts. The process must answer an OPTIONS probe after every burst (a crash or
// a wedge names the seed and burst that did it), and afterwards a normal SIPp call completes and
// the heap is back near where it was. `FUZZ_SIP_DATAGRAMS` / `FUZZ_SIP_SEED` run longer or other
// seeds (`npm run fuzz:sip`).
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Rng, mutate } from './support/sip-mutator.js';
import { UdpPeer } from './support/raw-sip.js';
import { startGrokSipProcess } from './support/grok-sip-process.js';
import { runSipp } from './support/run-peer.js';

const SIP_PORT = 21000;
const HTTP_PORT = 21001;
const RTP_MIN = 21100;
const DATAGRAMS = Number(process.env.FUZZ_SIP_DATAGRAMS ?? 100_000);
const SEED = Number(process.env.FUZZ_SIP_SEED ?? 0x5eed);
const BURST = 500;

t.setTimeout(300_000);

t.test(
  `${DATAGRAMS} mutated datagrams: the process survives, answers, and still places a call`,
  async (t) => {
    const gs = await startGrokSipProcess(t, {
      sipPort: SIP_PORT,
      httpPort: HTTP_PORT,
      rtpMin: RTP_MIN,
      // No per-source limit: the fuzz must reach the parser and sip.js, not a 503.
      sipYaml: '  limits: { requestsPerSec: 0 }\n  maxCalls: 500',
    });
    const fuzzer = await UdpPeer.open(t);
    const probe = await UdpPeer.open(t);
    // Keep only a count of what the fuzzer receives (responses to 100k datagrams).
    fuzzer.socket.removeAllListeners('message');
    let answers = 0;
    fuzzer.socket.on('message', () => answers++);
    t.ok(await gs.answersOptions(probe), 'answers OPTIONS before');
    await sleep(500);
    const heapBefore = await gs.metric('grok_sip_nodejs_heap_size_used_bytes');

    const rng = new Rng(SEED);
    const ctx = { target: `127.0.0.1:${SIP_PORT}`, self: `127.0.0.1:${fuzzer.port}` };
    const started = Date.now();
    let failure: string | undefined;
    for (let sent = 0; sent < DATAGRAMS && failure === undefined; sent += BURST) {
      for (let k = 0; k < BURST; k++) fuzzer.send(mutate(rng, ctx, sent + k), SIP_PORT);
      // Bounded pace: let the kernel buffer drain and the process work through the burst.
      if (!(await gs.answersOptions(probe, 10_000))) {
        failure = `no answer after datagrams ${sent}..${sent + BURST - 1} (seed ${SEED}); alive: ${gs.alive()}`;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    t.notOk(failure, failure ?? 'answered after every burst');
    t.ok(gs.alive(), `process alive after ${DATAGRAMS} datagrams in ${seconds.toFixed(1)} s`);
    if (failure !== undefined || !gs.alive()) {
      t.comment(gs.output().slice(-4000));
      return;
    }
    t.comment(`${DATAGRAMS} datagrams in ${seconds.toFixed(1)} s, ${answers} responses to the fuzzer`);
    const rejected = await gs.metric('grok_sip_rejected_input_total');
    t.ok(rejected > DATAGRAMS / 10, `rejections counted (${rejected})`);

    // A normal call with audio still completes.
    const call = await runSipp(t, `127.0.0.1:${SIP_PORT}`, [
      '-sn',
      'uac',
      '-s',
      'echo',
      '-p',
      String(SIP_PORT + 2),
      '-m',
      '1',
      '-d',
      '1000',
    ]);
    t.equal(call.code, 0, `SIPp call after the fuzz completed (rc ${call.code}) ${call.stderr.slice(-300)}`);

    // Memory: calls the fuzz opened without an ACK end 64*T1 after their 200 (RFC 3261
    // §13.3.1.4), transaction state lives as long; then the heap is compared. Generous bound: GC
    // timing is not ours to choose.
    const until = Date.now() + 45_000;
    while ((await gs.metric('grok_sip_active_calls')) > 0 && Date.now() < until) await sleep(500);
    t.equal(await gs.metric('grok_sip_active_calls'), 0, 'every call the fuzz opened has ended');
    const heapAfter = await gs.metric('grok_sip_nodejs_heap_size_used_bytes');
    t.comment(
      `heap used before ${(heapBefore / 1e6).toFixed(1)} MB, after ${(heapAfter / 1e6).toFixed(1)} MB`,
    );
    t.ok(heapAfter < heapBefore + 60e6, 'heap did not grow without bound');
  },
);

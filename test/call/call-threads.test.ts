// Calls sharded over call threads (media.workers: 2), end to end from hand-written SIP peers with
// their own RTP sockets: calls spread over both threads and each hears the agent; each thread
// reports its own event-loop lag, media clock and counters on the main thread's /metrics; an RTP
// datagram refused inside a thread is counted there; a call thread that dies takes only its own
// calls with it (the caller gets a BYE, the record says internal-error), a fresh thread takes its
// place and the next calls work on every thread.
import { createSocket, type Socket } from 'node:dgram';
import t from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import { startObservability } from '../../src/app/observability-wiring.js';
import { parseConfig } from '../../src/config/load-config.js';
import { logger } from '../../src/observability/logger.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { audioSdp, header, request, statusOf, UdpPeer, until } from '../sip/support/raw-sip.js';

const sipPort = 22300;
const httpPort = 22390;

type Tap = { teardown(fn: () => unknown): void };

async function start(
  t: Tap,
  localAgentThread = false,
): Promise<{ app: GrokSipApp; records: CallDetailRecord[]; metricsUrl: string }> {
  const config = parseConfig(
    `sip: { listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }] }
media: { rtpAddress: 127.0.0.1, portMin: 22310, portMax: 22389, rtpTimeoutSec: 0, workers: 2 }
agents:
  default: a
  profiles: [{ name: a, instructions: x, greeting: Hello there. }]
http: { address: 127.0.0.1, port: ${httpPort} }
`,
    {},
  );
  const observability = await startObservability(config, logger);
  const app = await startGrokSip(config, {
    observer: observability.observer,
    localAgent: { mode: 'scripted' },
    localAgentThread,
  });
  observability.attach(app);
  t.teardown(async () => {
    await app.stop();
    await observability.close();
  });
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (r) => records.push(r));
  return { app, records, metricsUrl: `${observability.url}/metrics` };
}

interface TestCall {
  readonly callId: string;
  readonly rtp: Socket;
  readonly localRtpPort: number;
  /** Our RTP port as the 200 OK's SDP gives it. */
  readonly remoteRtpPort: number;
  packets(): number;
  bye(): void;
}

async function call(t: Tap, peer: UdpPeer, n: number): Promise<TestCall> {
  const rtp = createSocket('udp4');
  await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve));
  t.teardown(() => rtp.close());
  let packets = 0;
  rtp.on('message', () => packets++);
  const localRtpPort = rtp.address().port;
  const callId = `threads-${n}`;
  const base = { uri: `sip:a@127.0.0.1:${sipPort}`, callId };
  peer.send(
    request(
      { ...base, method: 'INVITE', branch: `z9hG4bKth${n}`, cseq: 1, body: audioSdp(localRtpPort) },
      peer.port,
    ),
    sipPort,
  );
  const [ok] = await peer.waitFor((m) => statusOf(m) === 200 && m.includes(`Call-ID: ${callId}`), 1, 10_000);
  if (ok === undefined) throw new Error(`no 200 OK for ${callId}`);
  const toTag = /;tag=([^;\s]+)/.exec(header(ok, 'To') ?? '')?.[1] ?? '';
  const remoteRtpPort = Number(/m=audio (\d+)/.exec(ok)?.[1]);
  peer.send(
    request({ ...base, method: 'ACK', branch: `z9hG4bKth${n}a`, cseq: 1, toTag }, peer.port),
    sipPort,
  );
  return {
    callId,
    rtp,
    localRtpPort,
    remoteRtpPort,
    packets: () => packets,
    bye: () =>
      peer.send(
        request({ ...base, method: 'BYE', branch: `z9hG4bKth${n}b`, cseq: 2, toTag }, peer.port),
        sipPort,
      ),
  };
}

async function metric(url: string, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const m = pattern.exec(text);
  return m === null ? undefined : Number(m[1]);
}

t.test('calls spread over two call threads, each reports its health', async (t) => {
  const { app, records, metricsUrl } = await start(t);
  t.equal(app.callThreads().length, 2, 'two call threads');
  const peer = await UdpPeer.open(t);
  const calls: TestCall[] = [];
  for (let i = 0; i < 4; i++) calls.push(await call(t, peer, i));
  t.same(
    app.callThreads().map((s) => s.calls),
    [2, 2],
    'the four calls are split two and two',
  );
  await until(() => calls.every((c) => c.packets() >= 10), 10_000);
  for (const c of calls)
    t.ok(c.packets() >= 10, `${c.callId}: the greeting reaches the caller (${c.packets()} packets)`);

  // A garbage datagram to one call's RTP port is refused inside its thread and counted on /metrics.
  const before = (await metric(metricsUrl, /grok_sip_rejected_input_total\{kind="rtp"\} (\d+)/)) ?? 0;
  calls[0]!.rtp.send(Buffer.from([0x00, 0x01, 0x02]), calls[0]!.remoteRtpPort, '127.0.0.1');
  await until(() => app.callThreads().every((s) => s.health !== undefined), 3000);
  let after = before;
  for (let i = 0; i < 40 && after <= before; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = (await metric(metricsUrl, /grok_sip_rejected_input_total\{kind="rtp"\} (\d+)/)) ?? 0;
  }
  t.equal(after, before + 1, 'the thread counted the refused RTP datagram; /metrics shows it');
  for (const thread of ['main', 'call-thread-1', 'call-thread-2']) {
    const lag = await metric(
      metricsUrl,
      new RegExp(`grok_sip_event_loop_lag_p99_seconds\\{thread="${thread}"\\} ([0-9.e+-]+)`),
    );
    t.ok(lag !== undefined && lag >= 0, `event-loop lag p99 reported for ${thread}: ${lag}`);
    const skipped = await metric(
      metricsUrl,
      new RegExp(`grok_sip_media_clock_skipped_ticks_total\\{thread="${thread}"\\} (\\d+)`),
    );
    t.ok(skipped !== undefined, `skipped media ticks reported for ${thread}: ${skipped}`);
  }

  for (const c of calls) c.bye();
  await until(() => records.length === 4);
  t.same(
    records.map((r) => r.endReason),
    ['remote-bye', 'remote-bye', 'remote-bye', 'remote-bye'],
    'four records, all ended by the caller',
  );
  t.ok(
    records.every((r) => (r.media?.packetsOut ?? 0) >= 10 && r.setupMs !== undefined),
    'each record carries its media and setup time from the thread',
  );
  t.equal(app.activeCalls(), 0);
});

t.test('a call thread that dies ends only its calls; a new thread takes its place', async (t) => {
  const { app, records } = await start(t);
  const peer = await UdpPeer.open(t);
  const first = await call(t, peer, 10);
  const second = await call(t, peer, 11);
  t.same(
    app.callThreads().map((s) => s.calls),
    [1, 1],
  );
  await app.killCallThread(0);
  const byes = await peer.waitFor(
    (m) => m.startsWith('BYE ') && m.includes(`Call-ID: ${first.callId}`),
    1,
    5000,
  );
  t.equal(byes.length, 1, 'the caller of the dead thread gets a BYE from the main thread');
  await until(() => records.length === 1);
  t.match(
    records[0],
    { callId: first.callId, endReason: 'internal-error' },
    'its record says internal-error',
  );
  await until(() => app.callThreads()[0]?.health !== undefined, 5000);
  const beforeSecond = second.packets();
  await new Promise((r) => setTimeout(r, 500));
  t.equal(app.activeCalls(), 1, 'the other thread still carries its call');
  t.ok(second.packets() >= beforeSecond, 'the other call was not touched');

  const third = await call(t, peer, 12);
  const fourth = await call(t, peer, 13);
  t.ok((app.callThreads()[0]?.calls ?? 0) >= 1, 'the new thread takes calls');
  t.equal(app.activeCalls(), 3);
  await until(() => third.packets() >= 10 && fourth.packets() >= 10, 10_000);
  t.ok(third.packets() >= 10 && fourth.packets() >= 10, 'new calls after the crash hear the agent');
  for (const c of [second, third, fourth]) c.bye();
  await until(() => records.length === 4);
  t.same(
    records.slice(1).map((r) => r.endReason),
    ['remote-bye', 'remote-bye', 'remote-bye'],
  );
});

t.test(
  'the local agent in a thread of its own (grok-sip start without a key) answers the calls',
  async (t) => {
    const { app, records } = await start(t, true);
    t.equal(app.localAgent, undefined, 'no in-process agent');
    t.ok(app.usesLocalAgent, 'calls talk to the local agent');
    t.match(app.realtimeUrl, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime$/);
    const peer = await UdpPeer.open(t);
    const calls = [await call(t, peer, 20), await call(t, peer, 21)];
    await until(() => calls.every((c) => c.packets() >= 10), 10_000);
    for (const c of calls)
      t.ok(c.packets() >= 10, `${c.callId}: the agent thread's greeting reaches the caller`);
    for (const c of calls) c.bye();
    await until(() => records.length === 2);
    t.same(
      records.map((r) => r.endReason),
      ['remote-bye', 'remote-bye'],
    );
  },
);

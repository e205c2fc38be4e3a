// A thread's health on /metrics, from the real sources: the event loop blocked for 150 ms shows as
// lag, a media clock stalled past its burst shows skipped and late ticks, RTP the OS refuses to
// send (EACCES to a broadcast address) counts as send errors — each labelled by thread.
import t, { type Test } from 'tap';
import { MediaClock } from '../../src/media/media-clock.js';
import { PortPool } from '../../src/media/port-pool.js';
import { RtpSession } from '../../src/media/rtp-session.js';
import { EventLoopLagMonitor } from '../../src/observability/event-loop-lag.js';
import { startHttpEndpoints } from '../../src/observability/http-endpoints.js';
import { GrokSipMetrics } from '../../src/observability/metrics.js';
import { rtpSendErrors } from '../../src/observability/rtp-send-errors.js';
import { sample } from './prometheus-text.js';
import { setTimeout as sleep } from 'node:timers/promises';

async function scrape(metrics: GrokSipMetrics, t: Test): Promise<() => Promise<string>> {
  const endpoints = await startHttpEndpoints({
    address: '127.0.0.1',
    port: 0,
    metrics,
    health: () => ({ live: true, ready: true, detail: {} }),
  });
  t.teardown(() => endpoints.close());
  return async () => (await fetch(`${endpoints.url}/metrics`)).text();
}

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

t.test('event-loop lag of a blocked loop, per thread', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  const read = await scrape(metrics, t);
  const lag = new EventLoopLagMonitor({ resolutionMs: 5, windowMs: 60_000 });
  t.teardown(() => lag.stop());
  const stop = metrics.addThread('main', () => ({ eventLoopLag: lag.sample() }));
  // A worker's numbers, as it would post them.
  metrics.addThread('media-1', () => ({ eventLoopLag: { p50Ms: 1, p99Ms: 4, maxMs: 12 } }));
  await sleep(50);
  block(150);
  await sleep(50);
  let text = await read();
  const max = sample(text, 'grok_sip_event_loop_lag_max_seconds{thread="main"}') ?? 0;
  t.ok(max >= 0.12 && max < 1, `the 150 ms block is the max: ${max} s`);
  t.ok((sample(text, 'grok_sip_event_loop_lag_p50_seconds{thread="main"}') ?? 1) < 0.1, 'p50 stays low');
  t.ok(sample(text, 'grok_sip_event_loop_lag_p99_seconds{thread="main"}') !== undefined, 'p99 reported');
  t.equal(sample(text, 'grok_sip_event_loop_lag_p99_seconds{thread="media-1"}'), 0.004, 'a second thread');
  t.equal(sample(text, 'grok_sip_event_loop_lag_max_seconds{thread="media-1"}'), 0.012);
  stop();
  text = await read();
  t.equal(sample(text, 'grok_sip_event_loop_lag_max_seconds{thread="main"}'), undefined, 'removed');
});

t.test('a window ends: the lag of a stall long ago no longer holds the max up', async (t) => {
  const lag = new EventLoopLagMonitor({ resolutionMs: 5, windowMs: 300 });
  t.teardown(() => lag.stop());
  await sleep(20);
  block(120);
  await sleep(400); // the window with the stall closes
  t.ok(lag.sample().maxMs >= 100, `the window with the stall: ${lag.sample().maxMs} ms`);
  await sleep(350); // a quiet window
  t.ok(lag.sample().maxMs < 100, `the next, quiet window: ${lag.sample().maxMs} ms`);
});

t.test('media clock skipped and late ticks after a stall', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  const read = await scrape(metrics, t);
  const clock = new MediaClock({ periodMs: 20, maxBurstTicks: 2 });
  const lag = new EventLoopLagMonitor();
  t.teardown(() => lag.stop());
  metrics.addThread('main', () => ({ eventLoopLag: lag.sample(), mediaClock: clock.stats }));
  const unsubscribe = clock.subscribe({ tick: () => undefined });
  t.teardown(unsubscribe);
  await sleep(60);
  let text = await read();
  t.equal(sample(text, 'grok_sip_media_clock_skipped_ticks_total{thread="main"}'), 0);
  block(200); // ~10 ticks due at once; 2 run, the rest are skipped
  await sleep(60);
  text = await read();
  const skipped = sample(text, 'grok_sip_media_clock_skipped_ticks_total{thread="main"}') ?? 0;
  const late = sample(text, 'grok_sip_media_clock_late_ticks_total{thread="main"}') ?? 0;
  t.ok(skipped >= 6, `ticks skipped: ${skipped}`);
  t.equal(skipped, clock.stats.skippedTicks, 'as the clock counts them');
  t.ok(late >= 1, `late ticks: ${late}`);
});

t.test('RTP the OS refuses to send is counted', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  const read = await scrape(metrics, t);
  const lag = new EventLoopLagMonitor();
  t.teardown(() => lag.stop());
  metrics.addThread('main', () => ({ eventLoopLag: lag.sample(), rtpSendErrors: rtpSendErrors.count }));
  const before = sample(await read(), 'grok_sip_rtp_send_errors_total{thread="main"}') ?? NaN;
  const pool = new PortPool({ address: '0.0.0.0', portMin: 27820, portMax: 27839 });
  const pair = await pool.allocate();
  // Linux refuses a datagram to 255.255.255.255 on a socket without SO_BROADCAST: EACCES.
  const rtp = new RtpSession({ pair, payloadType: 0, remote: { address: '255.255.255.255', port: 9 } });
  t.teardown(async () => {
    await rtp.close('test over');
    await pair.close();
  });
  const payload = Buffer.alloc(160, 0xff);
  for (let i = 0; i < 3; i++) rtp.sendFrame(payload, i * 20);
  await sleep(100);
  t.equal(rtp.stats.sendErrors, 3, 'the session saw three send errors');
  const after = sample(await read(), 'grok_sip_rtp_send_errors_total{thread="main"}');
  t.equal(after, before + 3, 'and the metric moved by three while the call is up');
});

// GrokSipMetrics fed with observer calls and CDRs, read back over a real /metrics endpoint.
import type { RegistrationState } from '../../src/signaling/signaling-backend.js';
import t, { type Test } from 'tap';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { startHttpEndpoints } from '../../src/observability/http-endpoints.js';
import { GrokSipMetrics } from '../../src/observability/metrics.js';
import { sample } from './prometheus-text.js';

function cdr(over: Partial<CallDetailRecord> = {}): CallDetailRecord {
  return {
    callId: 'c1',
    backend: 'embedded',
    from: '<sip:alice@127.0.0.1>;tag=1',
    to: '<sip:4000@127.0.0.1>',
    dialledUser: '4000',
    sourceAddress: '127.0.0.1:5061',
    agent: 'assistant',
    codec: 'PCMU',
    sipStatus: 200,
    endReason: 'remote-bye',
    startedAt: '2026-01-01T00:00:00.000Z',
    answeredAt: '2026-01-01T00:00:00.040Z',
    endedAt: '2026-01-01T00:00:10.000Z',
    durationMs: 10000,
    setupMs: 40,
    firstAgentAudioMs: 700,
    media: {
      packetsIn: 500,
      packetsOut: 480,
      lost: 3,
      late: 1,
      jitterMs: 4,
      concealedFrames: 5,
      playoutUnderruns: 2,
    },
    bargeIns: 1,
    turns: 2,
    dtmfDigits: 0,
    realtimeErrors: 0,
    realtimeReconnects: 0,
    ...over,
  };
}

async function scrape(metrics: GrokSipMetrics, t: Test): Promise<() => Promise<string>> {
  const endpoints = await startHttpEndpoints({
    address: '127.0.0.1',
    port: 0,
    metrics,
    health: () => ({ live: true, ready: true, detail: {} }),
  });
  t.teardown(() => endpoints.close());
  return async () => {
    const res = await fetch(`${endpoints.url}/metrics`);
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };
}

t.test('calls and media move with the CDRs; setup and first audio when they happen', async (t) => {
  const metrics = new GrokSipMetrics();
  const read = await scrape(metrics, t);
  let text = await read();
  t.equal(sample(text, 'grok_sip_active_calls'), 0, 'no call yet');
  t.equal(sample(text, 'grok_sip_rtp_lost_packets_total'), 0);
  t.equal(sample(text, 'grok_sip_call_setup_seconds_count'), 0);
  t.match(text, /grok_sip_process_cpu_seconds_total/, 'default process metrics with our prefix');

  metrics.accepted('c1');
  metrics.accepted('c2');
  metrics.accepted('c2'); // the same call twice counts once
  text = await read();
  t.equal(sample(text, 'grok_sip_active_calls'), 2, 'two calls accepted for answering');

  // Observed when they happen (the ACK, the first agent packet), long before the call ends.
  metrics.answered(40);
  metrics.firstAgentAudio(700);
  text = await read();
  t.equal(sample(text, 'grok_sip_calls_total{result="remote-bye"}'), undefined, 'no call has ended');
  t.equal(sample(text, 'grok_sip_call_setup_seconds_count'), 1, 'setup seen at the ACK, mid-call');
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_count'), 1, 'first audio seen when sent');

  metrics.ended(cdr({ callId: 'c1' }));
  text = await read();
  t.equal(sample(text, 'grok_sip_active_calls'), 1);
  t.equal(sample(text, 'grok_sip_calls_total{result="remote-bye"}'), 1);
  t.equal(sample(text, 'grok_sip_call_setup_seconds_count'), 1, 'the CDR does not count it twice');
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_count'), 1);
  t.equal(sample(text, 'grok_sip_call_setup_seconds_sum'), 0.04);
  t.equal(sample(text, 'grok_sip_call_setup_seconds_bucket{le="0.025"}'), 0, '40 ms is above 25 ms');
  t.equal(sample(text, 'grok_sip_call_setup_seconds_bucket{le="0.05"}'), 1, 'and within 50 ms');
  t.equal(sample(text, 'grok_sip_call_setup_seconds_bucket{le="0.005"}'), 0, 'lowest bucket 5 ms');
  t.equal(sample(text, 'grok_sip_call_setup_seconds_bucket{le="5"}'), 1, 'highest bucket 5 s');
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_sum'), 0.7);
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_bucket{le="0.5"}'), 0);
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_bucket{le="0.75"}'), 1);
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_bucket{le="0.05"}'), 0, 'lowest bucket 50 ms');
  t.equal(sample(text, 'grok_sip_first_agent_audio_seconds_bucket{le="10"}'), 1, 'highest bucket 10 s');
  t.equal(sample(text, 'grok_sip_rtp_jitter_seconds_count'), 1);
  t.equal(sample(text, 'grok_sip_rtp_jitter_seconds_sum'), 0.004);
  t.equal(sample(text, 'grok_sip_rtp_lost_packets_total'), 3);
  t.equal(sample(text, 'grok_sip_plc_concealed_frames_total'), 5);
  t.equal(sample(text, 'grok_sip_playout_underruns_total'), 2);

  // A second call of a different outcome, and a refused call that was never counted as active.
  metrics.answered(40);
  metrics.answered(Number.NaN); // a bug upstream must not poison the sum
  metrics.ended(cdr({ callId: 'c2', endReason: 'agent-hangup', media: { ...cdr().media!, lost: 10 } }));
  metrics.ended(
    cdr({
      callId: 'refused',
      endReason: 'rejected',
      sipStatus: 404,
      setupMs: undefined,
      firstAgentAudioMs: undefined,
      media: undefined,
      agent: undefined,
      answeredAt: undefined,
    }),
  );
  text = await read();
  t.equal(sample(text, 'grok_sip_active_calls'), 0, 'the refused call did not push the gauge below 0');
  t.equal(sample(text, 'grok_sip_calls_total{result="remote-bye"}'), 1);
  t.equal(sample(text, 'grok_sip_calls_total{result="agent-hangup"}'), 1);
  t.equal(sample(text, 'grok_sip_calls_total{result="rejected"}'), 1);
  t.equal(sample(text, 'grok_sip_call_setup_seconds_count'), 2, 'no setup time for the refused call');
  t.equal(sample(text, 'grok_sip_rtp_jitter_seconds_count'), 2, 'no jitter sample without media');
  t.equal(sample(text, 'grok_sip_rtp_lost_packets_total'), 13);
  t.equal(metrics.activeCalls, 0);
});

t.test('turn latency, barge-ins and realtime errors from the live observer calls', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  const read = await scrape(metrics, t);
  metrics.turnLatency(450);
  metrics.turnLatency(1200);
  metrics.turnLatency(Number.NaN); // a bug upstream must not poison the sum
  metrics.bargeIn();
  metrics.bargeIn();
  metrics.realtimeError('benign');
  metrics.realtimeError('fatal');
  metrics.realtimeError('fatal');
  const text = await read();
  t.equal(sample(text, 'grok_sip_turn_latency_seconds_count'), 2);
  t.equal(sample(text, 'grok_sip_turn_latency_seconds_sum'), 1.65);
  t.equal(sample(text, 'grok_sip_turn_latency_seconds_bucket{le="0.5"}'), 1);
  t.equal(sample(text, 'grok_sip_turn_latency_seconds_bucket{le="1.5"}'), 2);
  t.equal(sample(text, 'grok_sip_barge_ins_total'), 2);
  t.equal(sample(text, 'grok_sip_realtime_errors_total{kind="benign"}'), 1);
  t.equal(sample(text, 'grok_sip_realtime_errors_total{kind="fatal"}'), 2);
  t.notMatch(text, /process_cpu/, 'process metrics off when asked');
});

t.test('registration state gauge per AOR', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  const read = await scrape(metrics, t);
  const aor = 'sip:4000@pbx.example.com';
  const other = 'sip:4001@pbx.example.com';
  const reg = { registrar: 'sip:pbx.example.com' } as const;
  // What the backends emit (signaling's RegistrationState) is accepted as it is.
  const set = (state: RegistrationState): void => metrics.setRegistration(state);
  set({ aor, ...reg, status: 'registering' });
  set({ aor: other, ...reg, status: 'failed', lastError: '403 Forbidden' });
  let text = await read();
  t.equal(sample(text, `grok_sip_registration_state{aor="${aor}"}`), 1);
  t.equal(sample(text, `grok_sip_registration_state{aor="${other}"}`), 3);
  set({ aor, ...reg, status: 'registered', expiresSec: 300 });
  text = await read();
  t.equal(sample(text, `grok_sip_registration_state{aor="${aor}"}`), 2);
  metrics.setRegistration({ aor, ...reg, status: 'unregistered' });
  text = await read();
  t.equal(sample(text, `grok_sip_registration_state{aor="${aor}"}`), 0);
  t.throws(
    () => metrics.setRegistration({ aor, ...reg, status: 'bogus' as 'registered' }),
    RangeError,
    'an unknown status is a RangeError',
  );
});

t.test('two instances do not share a registry', async (t) => {
  const a = new GrokSipMetrics();
  const b = new GrokSipMetrics();
  a.bargeIn();
  t.equal(sample(await a.metrics(), 'grok_sip_barge_ins_total'), 1);
  t.equal(sample(await b.metrics(), 'grok_sip_barge_ins_total'), 0);
  t.throws(() => a.accepted(42 as unknown as string), TypeError);
});

t.test('agent cost per profile from the usage in the CDR; renewals and stale audio counted', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  const usage = { outputAudioSeconds: 3.5, billableAudioSeconds: 7, inputTokens: 120, outputTokens: 40 };
  metrics.ended(cdr({ callId: 'u1', usage, realtimeRenewals: 1, staleAgentAudioDrops: 4 }));
  metrics.ended(cdr({ callId: 'u2', usage, agent: 'sales' }));
  metrics.ended(cdr({ callId: 'u3' })); // no usage reported: nothing added
  const text = await metrics.metrics();
  t.equal(sample(text, 'grok_sip_agent_audio_seconds_total{agent="assistant",kind="output"}'), 3.5);
  t.equal(sample(text, 'grok_sip_agent_audio_seconds_total{agent="assistant",kind="billable"}'), 7);
  t.equal(sample(text, 'grok_sip_agent_audio_seconds_total{agent="sales",kind="billable"}'), 7);
  t.equal(sample(text, 'grok_sip_agent_tokens_total{agent="assistant",direction="input"}'), 120);
  t.equal(sample(text, 'grok_sip_realtime_renewals_total'), 1);
  t.equal(sample(text, 'grok_sip_stale_agent_audio_drops_total'), 4);
});

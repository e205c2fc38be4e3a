// Prometheus metrics of one grok-sip process, on its own registry (tests run several apps in one
// process). Fed by the call layer through CallObserver, by the app (active calls) and by the
// signaling backend (registration state). Names and buckets are for telephony: setup in ms to
// seconds, first audio and turn latency from 50 ms to 10 s.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallDetailRecord, CallObserver } from '../call/call-detail-record.js';
import type { RegistrationState, RegistrationStatus } from '../signaling/signaling-backend.js';

const registrationValue: Record<RegistrationStatus, number> = {
  unregistered: 0,
  registering: 1,
  registered: 2,
  failed: 3,
};

const latencyBuckets = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export class GrokSipMetrics implements CallObserver {
  readonly registry = new Registry();
  readonly #activeCalls: Gauge;
  readonly #calls: Counter<'result'>;
  readonly #setup: Histogram;
  readonly #firstAudio: Histogram;
  readonly #turnLatency: Histogram;
  readonly #jitter: Histogram;
  readonly #lost: Counter;
  readonly #concealed: Counter;
  readonly #underruns: Counter;
  readonly #bargeIns: Counter;
  readonly #realtimeErrors: Counter<'kind'>;
  readonly #registration: Gauge<'aor'>;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'grok_sip_' });
    this.#activeCalls = new Gauge({
      name: 'grok_sip_active_calls',
      help: 'Calls from INVITE to their end (refused ones for the moment they take)',
      registers,
    });
    this.#calls = new Counter({
      name: 'grok_sip_calls_total',
      help: 'Calls by how they ended (CallEndReason: remote-bye, agent-hangup, rejected, cancelled, …)',
      labelNames: ['result'],
      registers,
    });
    this.#setup = new Histogram({
      name: 'grok_sip_call_setup_seconds',
      help: 'INVITE received to 200 OK sent (includes opening the agent session)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.#firstAudio = new Histogram({
      name: 'grok_sip_first_agent_audio_seconds',
      help: '200 OK sent to the first agent audio packet on RTP',
      buckets: latencyBuckets,
      registers,
    });
    this.#turnLatency = new Histogram({
      name: 'grok_sip_turn_latency_seconds',
      help: 'Caller stopped speaking (speech_stopped) to the first agent audio packet on RTP',
      buckets: latencyBuckets,
      registers,
    });
    this.#jitter = new Histogram({
      name: 'grok_sip_rtp_jitter_seconds',
      help: 'Inbound interarrival jitter (RFC 3550 6.4.1) at the end of each call',
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32],
      registers,
    });
    this.#lost = new Counter({
      name: 'grok_sip_rtp_lost_packets_total',
      help: 'Inbound RTP packets never received',
      registers,
    });
    this.#concealed = new Counter({
      name: 'grok_sip_plc_concealed_frames_total',
      help: '20 ms caller frames filled by packet-loss concealment',
      registers,
    });
    this.#underruns = new Counter({
      name: 'grok_sip_playout_underruns_total',
      help: 'Times the agent playout queue ran dry in the middle of a response',
      registers,
    });
    this.#bargeIns = new Counter({
      name: 'grok_sip_barge_ins_total',
      help: 'Caller speech that cut the agent off',
      registers,
    });
    this.#realtimeErrors = new Counter({
      name: 'grok_sip_realtime_errors_total',
      help: 'Realtime API errors (fatal ones end the agent session)',
      labelNames: ['kind'],
      registers,
    });
    this.#registration = new Gauge({
      name: 'grok_sip_registration_state',
      help: 'Per account: 0 unregistered, 1 registering, 2 registered, 3 failed',
      labelNames: ['aor'],
      registers,
    });
  }

  started(): void {
    this.#activeCalls.inc();
  }

  setRegistration(state: RegistrationState): void {
    this.#registration.set({ aor: state.aor }, registrationValue[state.status]);
  }

  turnLatency(ms: number): void {
    this.#turnLatency.observe(ms / 1000);
  }

  bargeIn(): void {
    this.#bargeIns.inc();
  }

  realtimeError(kind: 'benign' | 'fatal'): void {
    this.#realtimeErrors.inc({ kind });
  }

  ended(record: CallDetailRecord): void {
    this.#activeCalls.dec();
    this.#calls.inc({ result: record.endReason });
    if (record.setupMs !== undefined) this.#setup.observe(record.setupMs / 1000);
    if (record.firstAgentAudioMs !== undefined) this.#firstAudio.observe(record.firstAgentAudioMs / 1000);
    const media = record.media;
    if (media !== undefined) {
      this.#jitter.observe(media.jitterMs / 1000);
      this.#lost.inc(media.lost);
      this.#concealed.inc(media.concealedFrames);
      this.#underruns.inc(media.playoutUnderruns);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

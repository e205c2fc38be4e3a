// Prometheus metrics of one grok-sip process, on its own registry (tests run several apps in one
// process, and prom-client's global registry would mix them). Fed by the call layer through
// CallObserver (accepted, answered, first agent audio, ended, …), by the signaling backend
// (setRegistration), and, at scrape time, by each thread's health (addThread: event-loop lag,
// media-clock ticks, RTP send errors) and the TLS certificates served (setTlsCertificates).
// Buckets are for telephony: setup from 5 ms (local agent) to 5 s (slow agent handshake), first
// audio and turn latency from 50 ms to 10 s.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallDetailRecord, CallObserver } from './call-detail-record.js';
import type { EventLoopLagSample } from './event-loop-lag.js';
import { ignoredErrors } from './ignored-errors.js';
import { rejectedInputs } from './rejected-input.js';

const PREFIX = 'grok_sip_';

/**
 * A registration as the metrics see it: plain data, so observability imports nothing from the
 * layers above it (signaling's RegistrationState has this shape).
 */
export type RegistrationStatus = 'unregistered' | 'registering' | 'registered' | 'failed';
export interface RegistrationSample {
  readonly aor: string;
  readonly status: RegistrationStatus;
}

/** grok_sip_registration_state values. */
export const REGISTRATION_STATE_VALUE: Readonly<Record<RegistrationStatus, number>> = {
  unregistered: 0,
  registering: 1,
  registered: 2,
  failed: 3,
};

const SETUP_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
const LATENCY_BUCKETS_SEC = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
// RFC 3550 jitter of a healthy LAN is < 1 ms, a loaded trunk 5–30 ms; > 100 ms breaks a 200 ms buffer.
const JITTER_BUCKETS_SEC = [0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32];

/**
 * One thread's health, read at scrape time: plain numbers, so a worker thread can sample its own
 * and post them to the thread that serves /metrics. Counts are totals since the thread started.
 */
export interface ThreadHealth {
  readonly eventLoopLag: EventLoopLagSample;
  /** The thread's media clock (media-clock.ts stats), when it has one. */
  readonly mediaClock?: { readonly lateTicks: number; readonly skippedTicks: number };
  readonly rtpSendErrors?: number;
}

export interface GrokSipMetricsOptions {
  /** prom-client default process metrics (CPU, memory, event loop lag, …) on this registry. Default true. */
  readonly processMetrics?: boolean;
}

/**
 * Active calls: a call counts as active from accepted(callId) — CallSession calls it once the call
 * is routed and a codec agreed, before the 180 — until ended() with the same callId. Calls refused
 * before that (404, 488, 400, policy, capacity) still reach ended() and calls_total, but never the
 * active_calls gauge.
 */
/** A certificate as the metrics see it (signaling's TlsCertificateInfo has this shape). */
export interface TlsCertificateSample {
  readonly subject: string;
  /** As OpenSSL prints it: 'Dec  2 15:24:51 2026 GMT'. */
  readonly validTo: string;
}

export class GrokSipMetrics implements CallObserver {
  readonly registry = new Registry();
  #tlsCertificates: () => readonly TlsCertificateSample[] = () => [];
  readonly #activeCallIds = new Set<string>();
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
  readonly #agentAudio: Counter<'agent' | 'kind'>;
  readonly #agentTokens: Counter<'agent' | 'direction'>;
  readonly #renewals: Counter;
  readonly #staleAudio: Counter;
  readonly #threads = new Map<string, () => ThreadHealth | undefined>();

  constructor(options: GrokSipMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.#activeCalls = new Gauge({
      name: `${PREFIX}active_calls`,
      help: 'Calls accepted for answering and not yet ended (refused calls are never counted)',
      registers,
    });
    this.#calls = new Counter({
      name: `${PREFIX}calls_total`,
      help: 'Calls by how they ended (CallEndReason: remote-bye, agent-hangup, rejected, cancelled, ...)',
      labelNames: ['result'],
      registers,
    });
    this.#setup = new Histogram({
      name: `${PREFIX}call_setup_seconds`,
      help: 'INVITE received to 200 OK sent (includes opening the agent session)',
      buckets: SETUP_BUCKETS_SEC,
      registers,
    });
    this.#firstAudio = new Histogram({
      name: `${PREFIX}first_agent_audio_seconds`,
      help: '200 OK sent to the first agent audio packet on RTP',
      buckets: LATENCY_BUCKETS_SEC,
      registers,
    });
    this.#turnLatency = new Histogram({
      name: `${PREFIX}turn_latency_seconds`,
      help: 'Caller stopped speaking (speech_stopped) to the first agent audio packet on RTP',
      buckets: LATENCY_BUCKETS_SEC,
      registers,
    });
    this.#jitter = new Histogram({
      name: `${PREFIX}rtp_jitter_seconds`,
      help: 'Inbound interarrival jitter (RFC 3550 6.4.1), final value of each call with media',
      buckets: JITTER_BUCKETS_SEC,
      registers,
    });
    this.#lost = new Counter({
      name: `${PREFIX}rtp_lost_packets_total`,
      help: 'Inbound RTP packets never received (sequence gaps)',
      registers,
    });
    this.#concealed = new Counter({
      name: `${PREFIX}plc_concealed_frames_total`,
      help: '20 ms caller frames filled by packet-loss concealment',
      registers,
    });
    this.#underruns = new Counter({
      name: `${PREFIX}playout_underruns_total`,
      help: 'Outbound ticks with the agent talking and nothing queued',
      registers,
    });
    this.#bargeIns = new Counter({
      name: `${PREFIX}barge_ins_total`,
      help: 'Caller speech that cut the agent off',
      registers,
    });
    this.#realtimeErrors = new Counter({
      name: `${PREFIX}realtime_errors_total`,
      help: 'Realtime API errors by kind (fatal ones end the agent session)',
      labelNames: ['kind'],
      registers,
    });
    // Process-wide (rejected-input.ts): read at scrape time, so every edge only counts.
    new Counter({
      name: `${PREFIX}rejected_input_total`,
      help: 'Inputs from the wire refused at the boundary (malformed, over a limit, or threw in a handler), by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of rejectedInputs.entries()) this.inc({ kind }, n);
      },
    });
    new Counter({
      name: `${PREFIX}ignored_errors_total`,
      help: 'Errors we went on after (a provisional or BYE not sent, a dispose that failed), by place',
      labelNames: ['where'],
      registers,
      collect() {
        this.reset();
        for (const [where, n] of ignoredErrors.entries()) this.inc({ where }, n);
      },
    });
    this.#agentAudio = new Counter({
      name: `${PREFIX}agent_audio_seconds_total`,
      help: "Agent audio by profile from the service's response.done usage: output (spoken) and billable seconds",
      labelNames: ['agent', 'kind'],
      registers,
    });
    this.#agentTokens = new Counter({
      name: `${PREFIX}agent_tokens_total`,
      help: "Model tokens by profile from the service's response.done usage",
      labelNames: ['agent', 'direction'],
      registers,
    });
    this.#renewals = new Counter({
      name: `${PREFIX}realtime_renewals_total`,
      help: 'Realtime sessions the service ended mid-call (timeout, max_duration) that a new session took over',
      registers,
    });
    this.#staleAudio = new Counter({
      name: `${PREFIX}stale_agent_audio_drops_total`,
      help: 'Agent audio deltas of a cancelled (barge-in) or finished response, dropped unplayed',
      registers,
    });
    this.#threadMetrics(registers);
    this.#registration = new Gauge({
      name: `${PREFIX}registration_state`,
      help: 'Per AOR: 0 unregistered, 1 registering, 2 registered, 3 failed',
      labelNames: ['aor'],
      registers,
    });
    // Read at scrape time: a certificate swapped on SIGHUP shows at the next scrape. Alert on it
    // (expiry - time() < 14 days) so a renewal that was not reloaded is seen before calls fail.
    const tlsCertificates = (): readonly TlsCertificateSample[] => this.#tlsCertificates();
    new Gauge({
      name: `${PREFIX}tls_certificate_expiry_timestamp_seconds`,
      help: 'When each certificate the SIP TLS listeners serve expires (Unix time), by subject',
      labelNames: ['subject'],
      registers,
      collect() {
        this.reset();
        for (const c of tlsCertificates()) this.set({ subject: c.subject }, Date.parse(c.validTo) / 1000);
      },
    });
  }

  /** The certificates the TLS listeners serve now, read at each scrape. */
  setTlsCertificates(read: () => readonly TlsCertificateSample[]): void {
    this.#tlsCertificates = read;
  }

  /** CallObserver: accepted for answering; counts in active_calls until ended(record with this callId). */
  accepted(callId: string): void {
    if (typeof callId !== 'string') throw new TypeError(`callId must be a string, got ${typeof callId}`);
    this.#activeCallIds.add(callId);
    this.#activeCalls.set(this.#activeCallIds.size);
  }

  /** Calls counted by accepted() and not ended yet. */
  get activeCalls(): number {
    return this.#activeCallIds.size;
  }

  /**
   * Reports `thread`'s health on every scrape (thread = 'main', or a worker's name); `read`
   * returns undefined when it has nothing yet. Returns the function that stops reporting it.
   */
  addThread(thread: string, read: () => ThreadHealth | undefined): () => void {
    this.#threads.set(thread, read);
    return () => {
      if (this.#threads.get(thread) === read) this.#threads.delete(thread);
    };
  }

  setRegistration(state: RegistrationSample): void {
    const value = REGISTRATION_STATE_VALUE[state.status];
    if (value === undefined) throw new RangeError(`unknown registration status ${String(state.status)}`);
    this.#registration.set({ aor: state.aor }, value);
  }

  /** CallObserver: the 200 OK was ACKed; INVITE received → 200 OK sent, observed now. */
  answered(setupMs: number): void {
    observeMs(this.#setup, setupMs);
  }

  /** CallObserver: the call's first agent audio packet went out; 200 OK sent → then, observed now. */
  firstAgentAudio(ms: number): void {
    observeMs(this.#firstAudio, ms);
  }

  turnLatency(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.#turnLatency.observe(ms / 1000);
  }

  bargeIn(): void {
    this.#bargeIns.inc();
  }

  realtimeError(kind: 'benign' | 'fatal'): void {
    this.#realtimeErrors.inc({ kind });
  }

  ended(record: CallDetailRecord): void {
    if (this.#activeCallIds.delete(record.callId)) this.#activeCalls.set(this.#activeCallIds.size);
    this.#calls.inc({ result: record.endReason });
    const usage = record.usage;
    if (usage !== undefined) {
      const agent = record.agent ?? '';
      incBy(this.#agentAudio.labels({ agent, kind: 'output' }), usage.outputAudioSeconds);
      incBy(this.#agentAudio.labels({ agent, kind: 'billable' }), usage.billableAudioSeconds);
      incBy(this.#agentTokens.labels({ agent, direction: 'input' }), usage.inputTokens);
      incBy(this.#agentTokens.labels({ agent, direction: 'output' }), usage.outputTokens);
    }
    incBy(this.#renewals, record.realtimeRenewals ?? 0);
    incBy(this.#staleAudio, record.staleAgentAudioDrops ?? 0);
    const media = record.media;
    if (media !== undefined) {
      observeMs(this.#jitter, media.jitterMs);
      incBy(this.#lost, media.lost);
      incBy(this.#concealed, media.concealedFrames);
      incBy(this.#underruns, media.playoutUnderruns);
    }
  }

  /** Per-thread series, labelled `thread`, filled from addThread()'s readers at scrape time. */
  #threadMetrics(registers: Registry[]): void {
    const threads = this.#threads;
    const each = (fn: (thread: string, health: ThreadHealth) => void): void => {
      for (const [thread, read] of threads) {
        const health = read();
        if (health !== undefined) fn(thread, health);
      }
    };
    const lagGauge = (stat: 'p50' | 'p99' | 'max', pick: (s: EventLoopLagSample) => number): void => {
      new Gauge({
        name: `${PREFIX}event_loop_lag_${stat}_seconds`,
        help: `Event-loop lag ${stat} per thread over the last 10 s window (media wants p99 < 20 ms)`,
        labelNames: ['thread'],
        registers,
        collect() {
          this.reset();
          each((thread, h) => this.set({ thread }, pick(h.eventLoopLag) / 1000));
        },
      });
    };
    lagGauge('p50', (s) => s.p50Ms);
    lagGauge('p99', (s) => s.p99Ms);
    lagGauge('max', (s) => s.maxMs);
    const total = (name: string, help: string, pick: (h: ThreadHealth) => number | undefined): void => {
      new Counter({
        name: `${PREFIX}${name}`,
        help,
        labelNames: ['thread'],
        registers,
        collect() {
          this.reset();
          each((thread, h) => {
            const n = pick(h);
            if (n !== undefined) this.inc({ thread }, Number.isFinite(n) && n > 0 ? n : 0);
          });
        },
      });
    };
    total(
      'media_clock_skipped_ticks_total',
      'Media clock ticks skipped after an event-loop stall (each is 20 ms of audio on every call of the thread)',
      (h) => h.mediaClock?.skippedTicks,
    );
    total(
      'media_clock_late_ticks_total',
      'Media clock ticks that ran more than half a period late',
      (h) => h.mediaClock?.lateTicks,
    );
    total(
      'rtp_send_errors_total',
      'RTP/RTCP datagrams the OS refused to send (send callback errors)',
      (h) => h.rtpSendErrors,
    );
  }

  /** Content-Type of metrics(): the Prometheus text exposition format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

// A NaN or negative value (a bug upstream) would poison a histogram's sum or throw in inc().
function observeMs(histogram: Histogram, ms: number | undefined): void {
  if (ms !== undefined && Number.isFinite(ms) && ms >= 0) histogram.observe(ms / 1000);
}

function incBy(counter: { inc(n: number): void }, n: number): void {
  if (Number.isFinite(n) && n > 0) counter.inc(n);
}

// Jitter buffer vs speexdsp's JitterBuffer on the same seeded network traces.
// Trace: 20 ms G.711 packets for 120 s; Gilbert-Elliott loss (bursts of mean length 2);
// Pareto-distributed queueing jitter capped at 80 ms; a fraction of packets held back
// an extra 25-45 ms (reordering). Both buffers are pulled every 20 ms by the same clock.
// Figures: mean added delay (playout time - arrival time, over played audio) and late-loss
// rate (audio that arrived but was not played: discarded late, or dropped to shrink delay).
// Two comparisons per trace: our default setting against speexdsp's default, and our late-loss
// at equal or lower delay than speexdsp's (lateCostMs swept; the setting with the least late
// audio among those whose delay is <= speexdsp's), i.e. whether our delay/late-loss curve passes
// below speexdsp's operating point.
// Our buffer changes its delay only in pauses or over missing audio: the payload is loud (as
// continuous speech, the worst case: delay changes only at losses and late packets, or forced after
// 5 s of excess); the 'talk/pause' column plays 1.2 s of speech-level audio then 0.6 s of quiet.
#include <speex/speex_jitter.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "inbound_audio.h"
#include "jitter_buffer.h"

namespace {

struct Packet {
  uint16_t seq;
  uint32_t ts;
  double arrival_ms;
  int index;
};

struct TraceSpec {
  const char* name;
  double loss;          // mean loss rate (Gilbert-Elliott)
  double pareto_xm_ms;  // Pareto scale of the queueing delay
  double pareto_alpha;
  double reorder;       // fraction held back 25-45 ms
  uint64_t seed;
};

std::vector<Packet> make_trace(const TraceSpec& spec, int n) {
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double r = 0.5;  // bad -> good: mean burst 2 packets
  const double p = spec.loss * r / (1.0 - spec.loss);
  bool bad = false;
  std::vector<Packet> out;
  const uint16_t seq0 = 65000;          // wraps during the trace
  const uint32_t ts0 = 4294967295u - 80000;  // wraps too
  for (int i = 0; i < n; ++i) {
    bad = bad ? u(rng) >= r : u(rng) < p;
    if (bad) continue;
    double jitter = spec.pareto_xm_ms / std::pow(1.0 - u(rng), 1.0 / spec.pareto_alpha) - spec.pareto_xm_ms;
    jitter = std::min(jitter, 80.0);
    if (u(rng) < spec.reorder) jitter += 25.0 + 20.0 * u(rng);
    out.push_back({uint16_t(seq0 + i), uint32_t(ts0 + uint32_t(i) * 160u), 1000.0 + 20.0 * i + 30.0 + jitter, i});
  }
  std::sort(out.begin(), out.end(), [](const Packet& a, const Packet& b) { return a.arrival_ms < b.arrival_ms; });
  return out;
}

struct Result {
  double mean_delay_ms;
  double late_rate;
};

Result run_ours(const std::vector<Packet>& trace, int n, double late_cost_ms = grok::media::JitterConfig{}.late_cost_ms,
               bool talk_pause = false) {
  grok::media::JitterBuffer jb({0, 1000, late_cost_ms});
  uint8_t payload[160] = {0xff};  // mu-law 0x00 after the first byte: loud
  uint8_t quiet[160];
  std::fill(quiet, quiet + 160, uint8_t(0xff));  // mu-law 0

  size_t next = 0;
  const double end = 1000.0 + 20.0 * n + 1000.0;
  grok::media::JitterBuffer::Frame frame;
  for (double t = 1007.0; t < end; t += 20.0) {
    while (next < trace.size() && trace[next].arrival_ms <= t) {
      const Packet& p = trace[next++];
      const bool pause = talk_pause && p.index % 90 >= 60;
      jb.push(p.seq, p.ts, 0x1234, pause ? quiet : payload, 160, p.arrival_ms);
    }
    jb.pull(t, frame);
  }
  const auto s = jb.stats();
  const double arrived_sub = 2.0 * double(trace.size());
  return {s.mean_added_delay_ms, (double(s.late_samples) / 80.0 + double(s.dropped)) / arrived_sub};
}

Result run_speex(const std::vector<Packet>& trace, int n, int max_late_rate) {
  ::JitterBuffer* jb = jitter_buffer_init(160);
  if (max_late_rate >= 0) {
    spx_int32_t v = max_late_rate;
    jitter_buffer_ctl(jb, JITTER_BUFFER_SET_MAX_LATE_RATE, &v);
  }
  char payload[160] = {0};
  std::vector<double> arrival(size_t(n), -1);
  size_t next = 0;
  double delay_sum = 0;
  size_t played = 0;
  const double end = 1000.0 + 20.0 * n + 1000.0;
  char buf[2048];
  for (double t = 1007.0; t < end; t += 20.0) {
    while (next < trace.size() && trace[next].arrival_ms <= t) {
      const Packet& p = trace[next++];
      JitterBufferPacket pkt{};
      pkt.data = payload;
      pkt.len = 160;
      pkt.timestamp = p.ts;
      pkt.span = 160;
      pkt.sequence = p.seq;
      pkt.user_data = spx_uint32_t(p.index);
      arrival[size_t(p.index)] = p.arrival_ms;
      jitter_buffer_put(jb, &pkt);
    }
    JitterBufferPacket out{};
    out.data = buf;
    out.len = sizeof(buf);
    spx_int32_t offset = 0;
    if (jitter_buffer_get(jb, &out, 160, &offset) == JITTER_BUFFER_OK) {
      delay_sum += t - arrival[out.user_data];
      ++played;
    }
    jitter_buffer_tick(jb);
  }
  jitter_buffer_destroy(jb);
  return {played ? delay_sum / double(played) : 0, 1.0 - double(played) / double(trace.size())};
}

// CPU per 20 ms frame (push of the frame's packet + pull) through the whole inbound chain.
double ns_per_frame(const std::vector<Packet>& trace, int n, grok::media::ApiFormat format) {
  grok::media::InboundAudio audio(grok::media::CallCodec::Pcmu, format, {20, 300});
  uint8_t payload[160];
  for (int i = 0; i < 160; ++i) payload[i] = uint8_t(0x80 + (i * 7) % 64);
  uint8_t out[960];
  size_t next = 0;
  const auto start = std::chrono::steady_clock::now();
  int frames = 0;
  for (double t = 1007.0; t < 1000.0 + 20.0 * n; t += 20.0, ++frames) {
    while (next < trace.size() && trace[next].arrival_ms <= t) {
      const Packet& p = trace[next++];
      audio.push(p.seq, p.ts, 0x1234, payload, 160, p.arrival_ms);
    }
    audio.pull(t, out);
  }
  const auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  return ns / frames;
}

const char* verdict(const Result& ours, const Result& speex) {
  if (ours.mean_delay_ms <= speex.mean_delay_ms && ours.late_rate < speex.late_rate) return "better";
  if (ours.mean_delay_ms > speex.mean_delay_ms && ours.late_rate >= speex.late_rate) return "worse";
  return "trade-off";
}

}  // namespace

int main() {
  const int n = 6000;  // 120 s
  const TraceSpec specs[] = {
      {"GE 1% loss, Pareto mild", 0.01, 2.0, 2.0, 0.01, 11},
      {"GE 3% loss, Pareto mild", 0.03, 2.0, 2.0, 0.01, 12},
      {"GE 5% loss, Pareto mild", 0.05, 2.0, 2.0, 0.01, 13},
      {"GE 1% loss, Pareto heavy", 0.01, 5.0, 1.2, 0.02, 21},
      {"GE 3% loss, Pareto heavy", 0.03, 5.0, 1.2, 0.02, 22},
      {"GE 5% loss, Pareto heavy", 0.05, 5.0, 1.2, 0.02, 23},
      {"GE 3% loss, Pareto 0-80 wide", 0.03, 15.0, 1.5, 0.03, 31},
  };
  const double default_cost = grok::media::JitterConfig{}.late_cost_ms;
  std::printf("mean added delay / late-loss rate, 120 s per trace, 20 ms packets, pulls every 20 ms\n");
  std::printf("(our default lateCostMs %g was chosen on the 'tuning' seeds, two draws of each trace; 'fresh' seeds are\n", default_cost);
  std::printf(" two more draws it never saw. 'at speex delay': lateCostMs swept 0.25-30 in 0.25 steps, the setting\n");
  std::printf(" with the least late audio among those whose delay is <= speex's)\n\n");
  std::printf("%-28s %-8s | %-19s | %-19s | %-9s | %-26s | %-6s | %-19s | %-19s\n", "trace", "seed", "grok (default)",
              "speex (default)", "default", "grok at speex delay", "equal", "speex (max late 1%)", "grok talk/pause");
  int better_default[2] = {0, 0}, better_equal[2] = {0, 0}, traces[2] = {0, 0};
  double worst_margin = 1e9;  // smallest (speex late - our late) at equal delay, percentage points
  double heavy_lo = 1e9, heavy_hi = 0;  // speex's default delay over the heavy traces
  double kind_lo[16], kind_hi[16];      // ... and per trace kind, over its seeds
  std::fill(kind_lo, kind_lo + 16, 1e9);
  std::fill(kind_hi, kind_hi + 16, 0.0);
  for (int round = 0; round < 4; ++round) {
    const int group = round < 2 ? 0 : 1;  // 0: tuning, 1: fresh
    for (size_t kind = 0; kind < std::size(specs); ++kind) {
      auto spec = specs[kind];
      spec.seed += 1000 * uint64_t(round);
      const auto trace = make_trace(spec, n);
      const Result ours = run_ours(trace, n);
      const Result sp = run_speex(trace, n, -1);
      const Result sp1 = run_speex(trace, n, 1);
      Result eq{0, 2};
      double eq_cost = 0;
      for (double c = 0.25; c <= 30.01; c += 0.25) {
        const Result r = run_ours(trace, n, c);
        if (r.mean_delay_ms <= sp.mean_delay_ms && r.late_rate < eq.late_rate) eq = r, eq_cost = c;
      }
      const char* v = verdict(ours, sp);
      if (spec.pareto_alpha < 1.5) heavy_lo = std::min(heavy_lo, sp.mean_delay_ms), heavy_hi = std::max(heavy_hi, sp.mean_delay_ms);
      kind_lo[kind] = std::min(kind_lo[kind], sp.mean_delay_ms);
      kind_hi[kind] = std::max(kind_hi[kind], sp.mean_delay_ms);
      const bool eq_better = eq_cost > 0 && eq.late_rate < sp.late_rate;
      ++traces[group];
      better_default[group] += v[0] == 'b';
      better_equal[group] += eq_better;
      if (eq_cost > 0) worst_margin = std::min(worst_margin, 100 * (sp.late_rate - eq.late_rate));
      std::printf("%-28s %-8s | %5.1f ms / %5.2f %% | %5.1f ms / %5.2f %% | %-9s | ", spec.name,
                  group == 0 ? "tuning" : "fresh", ours.mean_delay_ms, 100 * ours.late_rate, sp.mean_delay_ms,
                  100 * sp.late_rate, v);
      if (eq_cost > 0) {
        std::printf("%5.1f ms / %5.2f %% (%4.1f) | %-6s | ", eq.mean_delay_ms, 100 * eq.late_rate, eq_cost,
                    eq_better ? "lower" : eq.late_rate == sp.late_rate ? "equal" : "higher");
      } else {
        std::printf("%-26s | %-6s | ", "none at <= that delay", "-");
      }
      const Result tp = run_ours(trace, n, default_cost, true);
      std::printf("%5.1f ms / %5.2f %% | %5.1f ms / %5.2f %%\n", sp1.mean_delay_ms, 100 * sp1.late_rate,
                  tp.mean_delay_ms, 100 * tp.late_rate);
    }
  }
  std::printf("\ndefault (lateCostMs %g): better than speex (<= delay, < late) on %d of %d tuning traces, %d of %d fresh\n",
              default_cost, better_default[0], traces[0], better_default[1], traces[1]);
  std::printf("at equal or lower delay: lower late-loss than speex on %d of %d tuning traces, %d of %d fresh"
              " (smallest margin %.2f points)\n",
              better_equal[0], traces[0], better_equal[1], traces[1], worst_margin);
  size_t widest = 0;
  for (size_t k = 0; k < std::size(specs); ++k)
    if (kind_hi[k] - kind_lo[k] > kind_hi[widest] - kind_lo[widest]) widest = k;
  std::printf("(with 20 ms pulls the playout points are 20 ms apart; on the heavy traces speex's default sits\n"
              " between two of them in a proportion that changes from seed to seed (%.1f-%.1f ms over the three\n"
              " heavy-jitter kinds; %.1f-%.1f ms over the four draws of '%s'), and so does ours: which of the\n"
              " two defaults has the lower delay and which the lower late-loss changes with the seed; the\n"
              " 'at speex delay' column compares the trade-off curves)\n",
              heavy_lo, heavy_hi, kind_lo[widest], kind_hi[widest], specs[widest].name);
  const auto trace = make_trace(specs[4], n);
  std::printf("\nCPU per 20 ms frame (push + pull, jitter buffer + PLC + format), trace '%s':\n", specs[4].name);
  std::printf("  PCMU -> pcmu (zero-transcode)  %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcmu));
  std::printf("  PCMU -> pcma                   %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcma));
  std::printf("  PCMU -> pcm@16000              %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcm16k));
  std::printf("  PCMU -> pcm@24000              %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcm24k));
  return 0;
}

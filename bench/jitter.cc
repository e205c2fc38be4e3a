// Jitter buffer vs speexdsp's JitterBuffer on the same seeded network traces.
// Trace: 20 ms G.711 packets for 120 s; Gilbert-Elliott loss (bursts of mean length 2);
// Pareto-distributed queueing jitter capped at 80 ms; a fraction of packets held back
// an extra 25-45 ms (reordering). Both buffers are pulled every 20 ms by the same clock.
// Figures: mean added delay (playout time - arrival time, over played audio) and late-loss
// rate (audio that arrived but was not played: discarded late, or dropped to shrink delay).
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

Result run_ours(const std::vector<Packet>& trace, int n) {
  grok::media::JitterBuffer jb({0, 1000});
  uint8_t payload[160] = {0xff};
  size_t next = 0;
  const double end = 1000.0 + 20.0 * n + 1000.0;
  grok::media::JitterBuffer::Frame frame;
  for (double t = 1007.0; t < end; t += 20.0) {
    while (next < trace.size() && trace[next].arrival_ms <= t) {
      const Packet& p = trace[next++];
      jb.push(p.seq, p.ts, 0x1234, payload, 160, p.arrival_ms);
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
  std::printf("mean added delay / late-loss rate, 120 s per trace, 20 ms packets, pulls every 20 ms\n");
  std::printf("(the late-cost constant of jitter_buffer.cc was chosen on the 'tuning' seeds; 'held-out' seeds\n");
  std::printf(" are the same traces drawn again)\n\n");
  std::printf("%-30s %-9s | %-21s | %-21s | %-10s | %-21s\n", "trace", "seed", "grok", "speex (default)",
              "vs speex", "speex (max late 1%)");
  for (int round = 0; round < 2; ++round) {
    for (auto spec : specs) {
      if (round == 1) spec.seed += 1000;
      const auto trace = make_trace(spec, n);
      const Result ours = run_ours(trace, n);
      const Result sp = run_speex(trace, n, -1);
      const Result sp1 = run_speex(trace, n, 1);
      std::printf("%-30s %-9s | %6.1f ms / %5.2f %% | %6.1f ms / %5.2f %% | %-10s | %6.1f ms / %5.2f %%\n", spec.name,
                  round == 0 ? "tuning" : "held-out", ours.mean_delay_ms, 100 * ours.late_rate, sp.mean_delay_ms,
                  100 * sp.late_rate, verdict(ours, sp), sp1.mean_delay_ms, 100 * sp1.late_rate);
    }
  }
  const auto trace = make_trace(specs[4], n);
  std::printf("\nCPU per 20 ms frame (push + pull, jitter buffer + PLC + format), trace '%s':\n", specs[4].name);
  std::printf("  PCMU -> pcmu (zero-transcode)  %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcmu));
  std::printf("  PCMU -> pcma                   %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcma));
  std::printf("  PCMU -> pcm@16000              %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcm16k));
  std::printf("  PCMU -> pcm@24000              %7.0f ns\n", ns_per_frame(trace, n, grok::media::ApiFormat::Pcm24k));
  return 0;
}

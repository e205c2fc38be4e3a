// libFuzzer target: JitterBuffer::push / pull (native/jitter_buffer.h) driven by rtp_script.h,
// under any configuration. Invariants (from the header): a payload over kMaxPayload or a
// non-finite arrival is Invalid; pull() fails only before playout started (so never again once a
// frame came out, for a finite time); Silence is start-up only; the stats count what push()
// returned (received = stored packets including a resync's, late, duplicates, resyncs); forced drops
// are a part of the drops; the target delay stays within [min, max].
#include <cmath>
#include <cstdint>
#include <memory>

#include "fuzz_check.h"
#include "jitter_buffer.h"
#include "rtp_script.h"

namespace {

using grok::fuzz::Packet;
using grok::media::JitterBuffer;
using grok::media::JitterConfig;
using grok::media::PushStatus;

// A configuration as the bindings accept it (0 <= min <= max <= kMaxDelayMs, late cost in (0, 1000]),
// or now and then any ints and doubles (the constructor clamps; no range invariant then).
JitterConfig consume_config(FuzzedDataProvider& in, bool& in_range) {
  JitterConfig c;
  in_range = in.ConsumeIntegralInRange<int>(0, 15) != 0;
  if (in_range) {
    c.min_delay_ms = in.ConsumeIntegralInRange<int>(0, JitterBuffer::kMaxDelayMs);
    c.max_delay_ms = in.ConsumeIntegralInRange<int>(c.min_delay_ms, JitterBuffer::kMaxDelayMs);
    if (in.ConsumeBool()) c.late_cost_ms = in.ConsumeIntegralInRange<int>(1, 100000) / 100.0;
  } else {
    c.min_delay_ms = in.ConsumeIntegral<int>();
    c.max_delay_ms = in.ConsumeIntegral<int>();
    c.late_cost_ms = in.ConsumeFloatingPoint<double>();
  }
  return c;
}

class JitterReceiver {
 public:
  explicit JitterReceiver(FuzzedDataProvider& in) { reconfigure(in); }

  void reconfigure(FuzzedDataProvider& in) {
    config_ = consume_config(in, config_in_range_);
    jb_ = std::make_unique<JitterBuffer>(config_);
    started_ = false;
    frames_ = stored_ = late_ = duplicates_ = resyncs_ = 0;
  }

  void push(const Packet& p, const uint8_t* payload, double arrival_ms) {
    const PushStatus s = jb_->push(p.seq, p.ts, p.ssrc, payload, p.n, arrival_ms);
    if (p.n > size_t(JitterBuffer::kMaxPayload) || !std::isfinite(arrival_ms))
      FUZZ_CHECK(s == PushStatus::Invalid);
    switch (s) {
      case PushStatus::Accepted:
        if (p.n > 0) ++stored_;
        break;
      case PushStatus::Resync:
        ++resyncs_;
        if (p.n > 0) ++stored_;
        break;
      case PushStatus::Late:
        ++late_;
        break;
      case PushStatus::Duplicate:
        ++duplicates_;
        break;
      case PushStatus::Invalid:
        break;
      default:
        FUZZ_CHECK(!"push status out of range");
    }
  }

  void pull(double now_ms) {
    JitterBuffer::Frame frame;
    const bool ok = jb_->pull(now_ms, frame);
    if (started_ && std::isfinite(now_ms)) FUZZ_CHECK(ok);
    if (!ok) return;
    for (const auto sub : frame.sub) {
      FUZZ_CHECK(sub <= JitterBuffer::Sub::Silence);
      if (started_) FUZZ_CHECK(sub != JitterBuffer::Sub::Silence);
    }
    started_ = true;
    ++frames_;
  }

  void check() const {
    const auto s = jb_->stats();
    FUZZ_CHECK(s.received == stored_);
    FUZZ_CHECK(s.late == late_);
    FUZZ_CHECK(s.duplicates == duplicates_);
    FUZZ_CHECK(s.resyncs >= resyncs_);
    FUZZ_CHECK(s.concealed <= frames_);
    FUZZ_CHECK(s.forced_drops <= s.dropped);
    FUZZ_CHECK(std::isfinite(s.jitter_ms) && s.jitter_ms >= 0);
    FUZZ_CHECK(std::isfinite(s.current_delay_ms) && std::isfinite(s.mean_added_delay_ms));
    if (config_in_range_) {
      FUZZ_CHECK(s.target_delay_ms >= config_.min_delay_ms && s.target_delay_ms <= config_.max_delay_ms);
    }
  }

 private:
  JitterConfig config_;
  bool config_in_range_ = true;
  std::unique_ptr<JitterBuffer> jb_;
  bool started_ = false;
  uint64_t frames_ = 0, stored_ = 0, late_ = 0, duplicates_ = 0, resyncs_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  JitterReceiver rx(in);
  grok::fuzz::run_rtp_script(in, rx);
  return 0;
}

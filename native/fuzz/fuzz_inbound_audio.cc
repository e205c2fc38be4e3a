// libFuzzer target: InboundAudio (native/inbound_audio.h: jitter buffer -> PLC -> G.711 re-encode
// or resampling to 16/24 kHz) driven by rtp_script.h, for every call codec and API format; a
// reconfigure step starts a new instance with another codec / format / configuration. Each pulled
// frame is written into a buffer of exactly frame_bytes(), so ASan sees any overrun.
// Invariants (from the header): frame_bytes() is 160 / 640 / 960 by format; pull() returns 0 or
// frame_bytes(), 0 only before playout started; a real subframe that follows real audio (nothing
// concealed or dropped in between, plc.h: good() changes only those) passes through byte for byte
// when the API format is the call codec. Which subframes are real comes from a JitterBuffer fed the
// same calls.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "fuzz_check.h"
#include "inbound_audio.h"
#include "jitter_buffer.h"
#include "rtp_script.h"

namespace {

using grok::fuzz::Packet;
using grok::media::ApiFormat;
using grok::media::CallCodec;
using grok::media::InboundAudio;
using grok::media::JitterBuffer;
using grok::media::JitterConfig;

class InboundReceiver {
 public:
  explicit InboundReceiver(FuzzedDataProvider& in) { reconfigure(in); }

  // As the bindings accept it: 0 <= min <= max <= kMaxDelayMs, late cost in (0, 1000].
  void reconfigure(FuzzedDataProvider& in) {
    codec_ = in.ConsumeBool() ? CallCodec::Pcmu : CallCodec::Pcma;
    format_ = static_cast<ApiFormat>(in.ConsumeIntegralInRange<int>(0, 3));
    JitterConfig c;
    c.min_delay_ms = in.ConsumeIntegralInRange<int>(0, JitterBuffer::kMaxDelayMs);
    c.max_delay_ms = in.ConsumeIntegralInRange<int>(c.min_delay_ms, JitterBuffer::kMaxDelayMs);
    if (in.ConsumeBool()) c.late_cost_ms = in.ConsumeIntegralInRange<int>(1, 100000) / 100.0;
    audio_ = std::make_unique<InboundAudio>(codec_, format_, c);
    c.codec = codec_;  // as InboundAudio configures its own: quiet is judged in the call's law
    shadow_ = std::make_unique<JitterBuffer>(c);
    started_ = false;
    after_loss_ = false;
    const size_t expected = format_ == ApiFormat::Pcm16k ? 640 : format_ == ApiFormat::Pcm24k ? 960 : 160;
    FUZZ_CHECK(audio_->frame_bytes() == expected);
    out_ = std::make_unique<uint8_t[]>(expected);
  }

  void push(const Packet& p, const uint8_t* payload, double arrival_ms) {
    const auto a = audio_->push(p.seq, p.ts, p.ssrc, payload, p.n, arrival_ms);
    const auto b = shadow_->push(p.seq, p.ts, p.ssrc, payload, p.n, arrival_ms);
    FUZZ_CHECK(a == b);
  }

  void pull(double now_ms) {
    const size_t frame_bytes = audio_->frame_bytes();
    const size_t got = audio_->pull(now_ms, out_.get());
    JitterBuffer::Frame frame;
    const bool ok = shadow_->pull(now_ms, frame);
    FUZZ_CHECK(got == 0 || got == frame_bytes);
    FUZZ_CHECK((got != 0) == ok);
    if (started_ && std::isfinite(now_ms)) FUZZ_CHECK(got == frame_bytes);
    if (!ok) return;
    started_ = true;
    const bool same = (format_ == ApiFormat::Pcmu && codec_ == CallCodec::Pcmu) ||
                      (format_ == ApiFormat::Pcma && codec_ == CallCodec::Pcma);
    constexpr int kSub = JitterBuffer::kSubframe;
    for (int k = 0; k < 2; ++k) {
      switch (frame.sub[k]) {
        case JitterBuffer::Sub::Real:
          if (same && !after_loss_)
            FUZZ_CHECK(std::memcmp(out_.get() + k * kSub, frame.bytes + k * kSub, kSub) == 0);
          after_loss_ = false;
          break;
        case JitterBuffer::Sub::RealAfterDrop:  // spliced: crossfaded from the concealment
          after_loss_ = false;
          break;
        case JitterBuffer::Sub::Silence:  // start-up silence does not touch the PLC
          break;
        default:
          after_loss_ = true;
          break;
      }
    }
  }

  void check() const {
    const auto a = audio_->stats();
    const auto b = shadow_->stats();
    FUZZ_CHECK(a.received == b.received && a.late == b.late && a.concealed == b.concealed);
  }

 private:
  CallCodec codec_ = CallCodec::Pcmu;
  ApiFormat format_ = ApiFormat::Pcmu;
  std::unique_ptr<InboundAudio> audio_;
  std::unique_ptr<JitterBuffer> shadow_;
  std::unique_ptr<uint8_t[]> out_;
  bool started_ = false;
  bool after_loss_ = false;  // the PLC's last subframe was concealed: the next real one is merged
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  InboundReceiver rx(in);
  grok::fuzz::run_rtp_script(in, rx);
  return 0;
}

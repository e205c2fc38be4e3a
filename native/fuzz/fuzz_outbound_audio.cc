// libFuzzer target: OutboundAudio (native/outbound_audio.h), the agent -> caller playout queue, for
// every API encoding / rate and call codec: pushes of any length (odd PCM16 splits, larger than the
// queue), pulls, flushes, barge-in clears and new instances, in any order. Pushed audio and pulled
// frames live in buffers of exactly their size, so ASan sees any overrun.
// Invariants (from the header): the queue stays within max_queue_ms rounded down to whole frames;
// the ring grows on demand between its initial 2 s and that cap; pull() succeeds iff at least
// 160 bytes are queued and takes exactly those; clear() returns the ms queued and empties the queue;
// flush() leaves whole frames; the stats balance: pushed + padded
// = played + dropped + overflow-dropped + queued. Without resampling (G.711 in, or PCM at 8 kHz) a
// model queue predicts every byte: pass-through, alaw_to_ulaw / ulaw_to_alaw, or linear_to_ulaw /
// linear_to_alaw of the little-endian samples; overflow drops the oldest bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "fuzz_check.h"
#include "g711.h"
#include "outbound_audio.h"

namespace {

using grok::media::ApiFormat;
using grok::media::CallCodec;
using grok::media::OutboundAudio;
constexpr size_t kFrame = OutboundAudio::kFrameBytes;
constexpr int kMaxOps = 64;
constexpr size_t kMaxPushed = size_t(1) << 13;  // bytes pushed per fuzz input (keeps exec/s up)

class Harness {
 public:
  void reconfigure(FuzzedDataProvider& in) {
    // G.711 in (either law), or PCM16 at any supported rate: 16 and 24 kHz as the API formats name
    // them, 8 and 48 kHz through the rate constructor.
    const int input = in.ConsumeIntegralInRange<int>(0, 2);
    pcm_ = input == 2;
    g711_in_ = input == 0 ? CallCodec::Pcmu : CallCodec::Pcma;
    static constexpr int kRates[] = {8000, 16000, 24000, 48000};
    rate_ = kRates[in.ConsumeIntegralInRange<int>(0, 3)];
    codec_ = in.ConsumeBool() ? CallCodec::Pcmu : CallCodec::Pcma;
    // Mostly small queues (wrap-around and overflow are reached quickly); now and then up to the limit.
    max_queue_ms_ = in.ConsumeIntegralInRange<int>(0, 31) == 0
                        ? in.ConsumeIntegralInRange<int>(20, OutboundAudio::kMaxQueueMsLimit)
                        : in.ConsumeIntegralInRange<int>(20, 2000);
    FUZZ_CHECK(OutboundAudio::supported_rate(rate_));
    if (!pcm_) {
      const ApiFormat format = g711_in_ == CallCodec::Pcmu ? ApiFormat::Pcmu : ApiFormat::Pcma;
      audio_ = std::make_unique<OutboundAudio>(format, codec_, max_queue_ms_);
    } else if (rate_ == 16000 || rate_ == 24000) {
      const ApiFormat format = rate_ == 16000 ? ApiFormat::Pcm16k : ApiFormat::Pcm24k;
      FUZZ_CHECK(grok::media::sample_rate(format) == rate_);
      audio_ = std::make_unique<OutboundAudio>(format, codec_, max_queue_ms_);
    } else {
      audio_ = std::make_unique<OutboundAudio>(rate_, codec_, max_queue_ms_);
    }
    cap_ = size_t(max_queue_ms_) * 8 / kFrame * kFrame;  // whole frames
    FUZZ_CHECK(audio_->max_bytes() == cap_);
    modelled_ = !pcm_ || rate_ == 8000;
    model_.clear();
    has_carry_ = false;
    FUZZ_CHECK(audio_->silence() ==
               (codec_ == CallCodec::Pcmu ? grok::media::kUlawSilence : grok::media::kAlawSilence));
    check();
  }

  void push(const std::vector<uint8_t>& bytes) {
    // An exact-size heap copy: the vector may have spare capacity ASan would not guard.
    std::unique_ptr<uint8_t[]> data(bytes.empty() ? nullptr : new uint8_t[bytes.size()]);
    if (!bytes.empty()) std::memcpy(data.get(), bytes.data(), bytes.size());
    audio_->push(data.get(), bytes.size());
    pushed_ += bytes.size();
    if (modelled_) model_push(bytes);
    check();
  }

  size_t pushed() const { return pushed_; }

  void pull() {
    const size_t before = audio_->queued_bytes();
    std::unique_ptr<uint8_t[]> frame(new uint8_t[kFrame]);
    const bool ok = audio_->pull(frame.get());
    FUZZ_CHECK(ok == (before >= kFrame));
    FUZZ_CHECK(audio_->queued_bytes() == (ok ? before - kFrame : before));
    if (ok && modelled_) {
      FUZZ_CHECK(model_.size() >= kFrame);
      for (size_t i = 0; i < kFrame; ++i) FUZZ_CHECK(frame[i] == model_[i]);
      model_.erase(model_.begin(), model_.begin() + kFrame);
    }
    check();
  }

  void flush() {
    audio_->flush();
    FUZZ_CHECK(audio_->queued_bytes() % kFrame == 0);
    if (modelled_) {
      has_carry_ = false;  // half a sample cannot be played
      const size_t partial = model_.size() % kFrame;
      if (partial != 0) model_append(std::vector<uint8_t>(kFrame - partial, audio_->silence()));
    }
    check();
  }

  void clear() {
    const double queued = audio_->queued_ms();
    FUZZ_CHECK(audio_->clear() == queued);
    FUZZ_CHECK(audio_->queued_bytes() == 0);
    model_.clear();
    has_carry_ = false;
    check();
  }

  void check() const {
    const size_t queued = audio_->queued_bytes();
    FUZZ_CHECK(queued <= cap_);
    // The ring grows on demand: never past the cap, and back to its initial size once empty.
    const size_t capacity = audio_->capacity_bytes();
    FUZZ_CHECK(capacity >= queued && capacity <= cap_);
    FUZZ_CHECK(capacity >= std::min(cap_, OutboundAudio::kInitialBytes));
    FUZZ_CHECK(audio_->queued_ms() == double(queued) / 8.0);
    if (modelled_) FUZZ_CHECK(model_.size() == queued);
    const auto& s = audio_->stats();
    // Every term is a multiple of 1/8 ms far below 2^50: the sums are exact.
    FUZZ_CHECK(s.pushed_ms + s.padded_ms ==
               s.played_ms + s.dropped_ms + s.overflow_dropped_ms + audio_->queued_ms());
  }

 private:
  void model_append(const std::vector<uint8_t>& codes) {
    model_.insert(model_.end(), codes.begin(), codes.end());
    if (model_.size() > cap_) model_.erase(model_.begin(), model_.begin() + (model_.size() - cap_));
  }

  void model_push(const std::vector<uint8_t>& bytes) {
    if (bytes.empty()) return;
    const bool to_ulaw = codec_ == CallCodec::Pcmu;
    std::vector<uint8_t> codes;
    if (!pcm_) {
      for (const uint8_t b : bytes) {
        if (g711_in_ == codec_) {
          codes.push_back(b);
        } else {
          codes.push_back(to_ulaw ? grok::media::alaw_to_ulaw(b) : grok::media::ulaw_to_alaw(b));
        }
      }
    } else {
      std::vector<uint8_t> raw;
      if (has_carry_) raw.push_back(carry_);
      raw.insert(raw.end(), bytes.begin(), bytes.end());
      has_carry_ = raw.size() % 2 != 0;
      if (has_carry_) carry_ = raw.back();
      for (size_t i = 0; i + 1 < raw.size(); i += 2) {
        const auto x = int16_t(uint16_t(raw[i] | raw[i + 1] << 8));
        codes.push_back(to_ulaw ? grok::media::linear_to_ulaw(x) : grok::media::linear_to_alaw(x));
      }
    }
    model_append(codes);
  }

  bool pcm_ = false;  // PCM16 at rate_ in, else G.711 of g711_in_
  CallCodec g711_in_ = CallCodec::Pcmu;
  int rate_ = 8000;
  CallCodec codec_ = CallCodec::Pcmu;
  int max_queue_ms_ = 20;
  size_t cap_ = 0;
  std::unique_ptr<OutboundAudio> audio_;
  bool modelled_ = false;
  std::deque<uint8_t> model_;  // the queue's expected bytes, oldest first
  bool has_carry_ = false;
  uint8_t carry_ = 0;
  size_t pushed_ = 0;
};

// Generated audio, longer than an input could carry: silence, full-scale square waves (resampler
// overshoot and saturation), a DC level, or noise; PCM16 little-endian or G.711 codes alike.
std::vector<uint8_t> generate(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, size_t(1) << 16);
  const int kind = in.ConsumeIntegralInRange<int>(0, 3);
  const int period = in.ConsumeIntegralInRange<int>(1, 256);
  uint32_t s = in.ConsumeIntegral<uint32_t>();
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0:
        out[i] = 0;
        break;
      case 1:  // +32767 / -32768 half periods (byte pairs 0xFF 0x7F / 0x00 0x80)
        out[i] = (i / 2 / size_t(period)) % 2 ? (i % 2 ? 0x80 : 0x00) : (i % 2 ? 0x7F : 0xFF);
        break;
      case 2:
        out[i] = uint8_t(s >> (8 * (i % 2)));
        break;
      default:
        s = s * 1664525u + 1013904223u;
        out[i] = uint8_t(s >> 24);
        break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Harness h;
  h.reconfigure(in);
  for (int op = 0; op < kMaxOps && in.remaining_bytes() > 0 && h.pushed() < kMaxPushed; ++op) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
      case 1:  // agent audio from the input (odd lengths split PCM16 samples across pushes)
        h.push(in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 4096)));
        break;
      case 2:
        h.push(generate(in));
        break;
      case 3: {  // media clock ticks
        const int k = in.ConsumeIntegralInRange<int>(1, 64);
        for (int i = 0; i < k; ++i) h.pull();
        break;
      }
      case 4:
        h.flush();
        break;
      case 5:
        h.clear();
        break;
      case 6:
        h.reconfigure(in);
        break;
      default:
        h.pull();
        break;
    }
  }
  return 0;
}

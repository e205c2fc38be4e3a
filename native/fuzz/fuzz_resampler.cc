// libFuzzer target: Resampler (native/resampler.h) on every supported rate pair, fed int16 or float
// streams in chunks of any length (from the input, or generated: silence, full-scale square waves,
// DC, noise; floats at any finite scale), with resets and rate changes in between. Each chunk's
// input and output buffers are exactly n and max_output(n) long (ASan sees any overrun).
// Invariants (from the header): supported() accepts exactly the 8 directed pairs; a call writes at
// most max_output(n); any split into chunks gives exactly the output of one call on a fresh
// resampler, and N inputs since a reset give ceil(N * out / in) outputs (the ratio); int16 input
// through process_float() gives process()'s output before rounding (round to nearest, saturated).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_check.h"
#include "resampler.h"

namespace {

using grok::media::Resampler;

struct Pair {
  int in, out;
};
constexpr Pair kPairs[] = {{8000, 16000}, {16000, 8000}, {8000, 24000},  {24000, 8000},
                           {8000, 48000}, {48000, 8000}, {16000, 24000}, {24000, 16000}};
constexpr size_t kMaxInput = size_t(1) << 11;  // samples per fuzz input (keeps exec/s up)
constexpr int kMaxOps = 32;

bool same_float(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

int16_t round_saturate(float y) {
  const float r = std::nearbyint(y);
  if (r >= 32767.0f) return 32767;
  if (r <= -32768.0f) return -32768;
  return static_cast<int16_t>(r);
}

class Harness {
 public:
  explicit Harness(Pair pair) { rate(pair); }

  size_t fed() const { return fed_; }

  void rate(Pair pair) {
    pair_ = pair;
    FUZZ_CHECK(Resampler::supported(pair.in, pair.out));
    r_ = std::make_unique<Resampler>(pair.in, pair.out);
    FUZZ_CHECK(r_->in_rate() == pair.in && r_->out_rate() == pair.out);
    float_ = false;
    clear_segment();
  }

  void feed(const std::vector<int16_t>& x) {
    if (float_) reset();
    float_ = false;
    const size_t n = x.size(), cap = r_->max_output(n);
    fed_ += n;
    std::unique_ptr<int16_t[]> in(new int16_t[n]), out(new int16_t[cap]);
    std::copy(x.begin(), x.end(), in.get());
    const size_t got = r_->process(in.get(), n, out.get());
    FUZZ_CHECK(got <= cap);
    in16_.insert(in16_.end(), x.begin(), x.end());
    out16_.insert(out16_.end(), out.get(), out.get() + got);
  }

  void feed(const std::vector<float>& x) {
    if (!float_) reset();
    float_ = true;
    const size_t n = x.size(), cap = r_->max_output(n);
    fed_ += n;
    std::unique_ptr<float[]> in(new float[n]), out(new float[cap]);
    std::copy(x.begin(), x.end(), in.get());
    const size_t got = r_->process_float(in.get(), n, out.get());
    FUZZ_CHECK(got <= cap);
    inf_.insert(inf_.end(), x.begin(), x.end());
    outf_.insert(outf_.end(), out.get(), out.get() + got);
  }

  // Checks the stream since the last reset against one call on fresh resamplers, then resets.
  void reset() {
    verify();
    r_->reset();
    clear_segment();
  }

 private:
  void clear_segment() {
    in16_.clear();
    out16_.clear();
    inf_.clear();
    outf_.clear();
  }

  void verify() const {
    const size_t n = float_ ? inf_.size() : in16_.size();
    const size_t outputs = float_ ? outf_.size() : out16_.size();
    FUZZ_CHECK(outputs == (n * size_t(pair_.out) + size_t(pair_.in) - 1) / size_t(pair_.in));
    std::vector<float> fin(n);
    if (float_) {
      std::copy(inf_.begin(), inf_.end(), fin.begin());
    } else {
      std::copy(in16_.begin(), in16_.end(), fin.begin());
      Resampler whole(pair_.in, pair_.out);
      std::vector<int16_t> ref(whole.max_output(n));
      FUZZ_CHECK(whole.process(in16_.data(), n, ref.data()) == outputs);
      FUZZ_CHECK(std::equal(out16_.begin(), out16_.end(), ref.begin()));
    }
    Resampler whole(pair_.in, pair_.out);
    std::vector<float> ref(whole.max_output(n));
    FUZZ_CHECK(whole.process_float(fin.data(), n, ref.data()) == outputs);
    for (size_t i = 0; i < outputs; ++i) {
      FUZZ_CHECK(float_ ? same_float(outf_[i], ref[i]) : out16_[i] == round_saturate(ref[i]));
    }
  }

  Pair pair_{};
  std::unique_ptr<Resampler> r_;
  size_t fed_ = 0;
  bool float_ = false;  // this stream is process_float()'s (one kind per stream, until reset())
  std::vector<int16_t> in16_, out16_;
  std::vector<float> inf_, outf_;
};

// Generated samples, longer than an input could carry: silence, a +32767 / -32768 square wave (the
// filters' overshoot saturates), a DC level, or noise.
std::vector<int16_t> generate(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, 4096);
  const int kind = in.ConsumeIntegralInRange<int>(0, 3);
  const size_t period = in.ConsumeIntegralInRange<size_t>(1, 64);
  uint32_t s = in.ConsumeIntegral<uint32_t>();
  std::vector<int16_t> x(n);
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0:
        x[i] = 0;
        break;
      case 1:
        x[i] = (i / period) % 2 ? -32768 : 32767;
        break;
      case 2:
        x[i] = int16_t(s);
        break;
      default:
        s = s * 1664525u + 1013904223u;
        x[i] = int16_t(s >> 16);
        break;
    }
  }
  return x;
}

std::vector<int16_t> from_bytes16(FuzzedDataProvider& in) {
  const std::vector<uint8_t> b = in.ConsumeBytes<uint8_t>(2 * in.ConsumeIntegralInRange<size_t>(0, 2048));
  std::vector<int16_t> x(b.size() / 2);
  if (!x.empty()) std::memcpy(x.data(), b.data(), x.size() * sizeof(int16_t));
  return x;
}

std::vector<float> from_bytes_float(FuzzedDataProvider& in) {
  const std::vector<uint8_t> b = in.ConsumeBytes<uint8_t>(4 * in.ConsumeIntegralInRange<size_t>(0, 1024));
  std::vector<float> x(b.size() / 4);
  if (!x.empty()) std::memcpy(x.data(), b.data(), x.size() * sizeof(float));
  for (float& v : x) {
    if (!std::isfinite(v)) v = 0;  // any scale, but finite
  }
  return x;
}

// Generated int16 patterns at a scale of 2^-60 .. 2^112 (finite; the largest overflow the filter sums).
std::vector<float> generate_float(FuzzedDataProvider& in) {
  const float scale = std::ldexp(1.0f, in.ConsumeIntegralInRange<int>(-60, 112));
  const std::vector<int16_t> x = generate(in);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = float(x[i]) * scale;
  return y;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  {
    const int a = in.ConsumeIntegral<int>(), b = in.ConsumeIntegral<int>();
    bool listed = false;
    for (const Pair& p : kPairs) listed = listed || (p.in == a && p.out == b);
    FUZZ_CHECK(Resampler::supported(a, b) == listed);
  }
  Harness h(kPairs[in.ConsumeIntegralInRange<size_t>(0, std::size(kPairs) - 1)]);
  for (int op = 0; op < kMaxOps && in.remaining_bytes() > 0 && h.fed() < kMaxInput; ++op) {
    switch (in.ConsumeIntegralInRange<int>(0, 6)) {
      case 0:
      case 1:
        h.feed(from_bytes16(in));
        break;
      case 2:
        h.feed(generate(in));
        break;
      case 3:
        h.feed(from_bytes_float(in));
        break;
      case 4:
        h.feed(generate_float(in));
        break;
      case 5:
        h.reset();
        break;
      default:
        h.reset();
        h.rate(kPairs[in.ConsumeIntegralInRange<size_t>(0, std::size(kPairs) - 1)]);
        break;
    }
  }
  h.reset();
  return 0;
}

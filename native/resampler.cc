// Temporary: nearest-sample stand-in with the final interface, replaced by the polyphase filter.
#include "resampler.h"

namespace grok::media {
bool Resampler::supported(int in_rate, int out_rate) {
  auto ok = [](int a, int b) { return (a == 8000 && (b == 16000 || b == 24000 || b == 48000)) || (a == 16000 && b == 24000); };
  return ok(in_rate, out_rate) || ok(out_rate, in_rate);
}
Resampler::Resampler(int in_rate, int out_rate)
    : in_rate_(in_rate), out_rate_(out_rate), up_(1), down_(1), taps_(0), delay_out_(0) {}
size_t Resampler::max_output(size_t n_in) const { return n_in * out_rate_ / in_rate_ + 2; }
size_t Resampler::process(const int16_t* in, size_t n_in, int16_t* out) {
  size_t n = 0;
  for (; next_in_ < n_in * static_cast<size_t>(out_rate_); next_in_ += in_rate_) out[n++] = in[next_in_ / out_rate_];
  next_in_ -= n_in * static_cast<size_t>(out_rate_);
  return n;
}
void Resampler::reset() { next_in_ = 0; }
int Resampler::delay_samples() const { return 0; }
int Resampler::in_rate() const { return in_rate_; }
int Resampler::out_rate() const { return out_rate_; }
}  // namespace grok::media

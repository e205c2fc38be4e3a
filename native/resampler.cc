// Polyphase windowed-sinc resampler. Design (Kaiser window, kStopbandDb design attenuation):
//  - paths with an 8 kHz side: passband 0-3.4 kHz, stopband from 4.6 kHz (images of a 3.4 kHz
//    tone land at 8 - 3.4 = 4.6 kHz), cutoff 4 kHz;
//  - 16 <-> 24 kHz: passband 0-7.2 kHz, stopband from 8.8 kHz, cutoff 8 kHz (same 10% margin
//    either side of the 16 kHz Nyquist frequency).
// The prototype runs at L * in_rate; branch p holds taps p, p+L, p+2L... time-reversed so each
// output is one contiguous float dot product that -O3 vectorises (8 independent accumulators).
// Each branch is normalised to unity DC gain, which puts DC images exactly at zero.
#include "resampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace grok::media {
namespace {

// Kaiser design attenuation. Measured stopband with sine sweeps (bench/codec_resampler.cc,
// test/media/resampler.test.ts) stays above 80 dB on every path.
#ifndef GROK_RESAMPLER_STOPBAND_DB
#define GROK_RESAMPLER_STOPBAND_DB 100.0
#endif
constexpr double kMinStopbandDb = GROK_RESAMPLER_STOPBAND_DB;
constexpr size_t kBlock = 1024;  // input samples converted to float per step
constexpr double kPi = 3.14159265358979323846;

double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  for (int k = 1; k < 64; ++k) {
    term *= (x / (2.0 * k)) * (x / (2.0 * k));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

// Two independent 8-lane accumulators keep two FMA/add chains in flight (taps is a multiple of 8).
inline float dot(const float* c, const float* x, int taps) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 16 <= taps; j += 16) {
    for (int k = 0; k < 8; ++k) a[k] += c[j + k] * x[j + k];
    for (int k = 0; k < 8; ++k) b[k] += c[j + 8 + k] * x[j + 8 + k];
  }
  if (j < taps) {
    for (int k = 0; k < 8; ++k) a[k] += c[j + k] * x[j + k];
  }
  for (int k = 0; k < 8; ++k) a[k] += b[k];
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

inline int16_t to_int16(float y) {
  const float r = std::nearbyint(y);
  if (r >= 32767.0f) return 32767;
  if (r <= -32768.0f) return -32768;
  return static_cast<int16_t>(r);
}

// x86-64 builds carry an AVX2+FMA clone of the filter loop picked at load time (ifunc); the
// baseline clone is SSE2. Output is identical for any chunking on a given machine.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GROK_FILTER_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GROK_FILTER_CLONES
#endif

// Produces every output whose newest input sample lies in this block; returns the count.
GROK_FILTER_CLONES
size_t filter_block(const float* coefs, int taps, int up, int down, const float* work, size_t block, int& phase,
                    size_t& next_in, int16_t* out) {
  size_t produced = 0;
  int p = phase;
  size_t n = next_in;
  while (n < block) {
    out[produced++] = to_int16(dot(coefs + static_cast<size_t>(p) * taps, work + n, taps));
    p += down;
    n += static_cast<size_t>(p / up);
    p %= up;
  }
  phase = p;
  next_in = n;
  return produced;
}

}  // namespace

bool Resampler::supported(int in_rate, int out_rate) {
  auto from8k = [](int a, int b) { return a == 8000 && (b == 16000 || b == 24000 || b == 48000); };
  return from8k(in_rate, out_rate) || from8k(out_rate, in_rate) || (in_rate == 16000 && out_rate == 24000) ||
         (in_rate == 24000 && out_rate == 16000);
}

Resampler::Resampler(int in_rate, int out_rate) : in_rate_(in_rate), out_rate_(out_rate) {
  const int g = std::gcd(in_rate, out_rate);
  up_ = out_rate / g;
  down_ = in_rate / g;
  const bool narrowband = in_rate == 8000 || out_rate == 8000;
  const double cutoff_hz = narrowband ? 4000.0 : 8000.0;
  const double transition_hz = narrowband ? 1200.0 : 1600.0;
  const double proto_rate = static_cast<double>(in_rate) * up_;

  // Kaiser's formulas (Oppenheim & Schafer 7.6): order from attenuation and transition width.
  // The length is rounded up to whole 8-tap vectors per branch; beta is then raised to the
  // attenuation that the rounded length supports, so the extra taps buy stopband.
  const double per_tap_db = 2.285 * 2.0 * kPi * transition_hz / proto_rate;
  const double order = (kMinStopbandDb - 7.95) / per_tap_db;
  taps_ = static_cast<int>(std::ceil((order + 1.0) / up_));
  taps_ = (taps_ + 7) / 8 * 8;
  const int length = taps_ * up_;
  stopband_db_ = (length - 1) * per_tap_db + 7.95;
  const double beta = 0.1102 * (stopband_db_ - 8.7);
  const double center = (length - 1) / 2.0;
  const double fc = cutoff_hz / proto_rate;  // cycles per prototype sample
  const double i0_beta = bessel_i0(beta);

  std::vector<double> proto(length);
  for (int i = 0; i < length; ++i) {
    const double t = i - center;
    const double sinc = t == 0.0 ? 2.0 * fc : std::sin(2.0 * kPi * fc * t) / (kPi * t);
    const double r = t / center;
    proto[i] = sinc * bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0_beta;
  }
  coefs_.assign(static_cast<size_t>(up_) * taps_, 0.0f);
  for (int p = 0; p < up_; ++p) {
    double sum = 0.0;
    for (int j = 0; j < taps_; ++j) sum += proto[p + up_ * j];
    for (int j = 0; j < taps_; ++j) {
      coefs_[static_cast<size_t>(p) * taps_ + (taps_ - 1 - j)] = static_cast<float>(proto[p + up_ * j] / sum);
    }
  }
  delay_out_ = center / down_;
  work_.assign(taps_ - 1 + kBlock, 0.0f);
}

size_t Resampler::max_output(size_t n_in) const {
  return (n_in * up_ + down_ - 1) / down_ + 1;
}

size_t Resampler::process(const int16_t* in, size_t n_in, int16_t* out) {
  size_t produced = 0;
  const size_t history = static_cast<size_t>(taps_) - 1;
  while (n_in > 0) {
    const size_t block = std::min(n_in, kBlock);
    float* fresh = work_.data() + history;
    for (size_t i = 0; i < block; ++i) fresh[i] = static_cast<float>(in[i]);
    produced += filter_block(coefs_.data(), taps_, up_, down_, work_.data(), block, phase_, next_in_, out + produced);
    next_in_ -= block;
    std::memmove(work_.data(), work_.data() + block, history * sizeof(float));
    in += block;
    n_in -= block;
  }
  return produced;
}

void Resampler::reset() {
  std::fill(work_.begin(), work_.end(), 0.0f);
  phase_ = 0;
  next_in_ = 0;
}

int Resampler::delay_samples() const { return static_cast<int>(std::lround(delay_out_)); }
int Resampler::in_rate() const { return in_rate_; }
int Resampler::out_rate() const { return out_rate_; }

}  // namespace grok::media

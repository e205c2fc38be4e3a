#include "plc.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

namespace grok::media {
namespace {
constexpr float kAttenuationPerSample = 0.2f / Plc::kSubframe;  // 20 % per 10 ms (G.711 I.2.4)
constexpr int kSpliceLen = 40;                                  // 5 ms crossfade after dropped samples

int16_t clip16(float v) {
  v = std::nearbyint(v);
  if (v > 32767.f) return 32767;
  if (v < -32768.f) return -32768;
  return static_cast<int16_t>(v);
}
}  // namespace

void Plc::reset() {
  std::fill(std::begin(history_), std::end(history_), 0.f);
  std::fill(std::begin(pitch_buf_), std::end(pitch_buf_), 0.f);
  pitch_ = kPitchMin;
  periods_ = 1;
  buf_len_ = 0;
  pos_ = 0;
  erased_ = 0;
  ramp_left_ = 0;
  ramp_offset_ = 0;
  ramp_len_ = 0;
  splice_pending_ = false;
}

void Plc::append_history(const int16_t* s, int n) {
  std::memmove(history_, history_ + n, sizeof(float) * (kHistory - n));
  for (int i = 0; i < n; ++i) history_[kHistory - n + i] = s[i];
}

// Normalised cross-correlation of the last 20 ms with the 20 ms one lag earlier; a coarse
// pass on every second lag, then +-1 around the best (as Appendix I's findpitch).
int Plc::find_pitch() const {
  const float* l = history_ + kHistory - kCorrLen;
  auto score = [&](int lag) {
    const float* r = l - lag;
    double corr = 0, energy = 1e-3;
    for (int i = 0; i < kCorrLen; ++i) {
      corr += double(l[i]) * r[i];
      energy += double(r[i]) * r[i];
    }
    return corr / std::sqrt(energy);
  };
  int best = kPitchMin;
  double best_score = -1e300;
  for (int lag = kPitchMin; lag <= kPitchMax; lag += 2) {
    double s = score(lag);
    if (s > best_score) best_score = s, best = lag;
  }
  int coarse = best;
  for (int lag = std::max(kPitchMin, coarse - 1); lag <= std::min(kPitchMax, coarse + 1); ++lag) {
    double s = score(lag);
    if (s > best_score) best_score = s, best = lag;
  }
  return best;
}

void Plc::start_erasure() {
  pitch_ = find_pitch();
  const int len = 3 * pitch_;
  std::memcpy(pitch_buf_, history_ + kHistory - len, sizeof(float) * len);
  // Make the end of the cycle lead into its start: blend the last quarter period towards the
  // samples one period earlier (Appendix I overlap-add at the repetition point).
  const int q = pitch_ / 4;
  for (int j = 0; j < q; ++j) {
    const float w = float(j + 1) / float(q + 1);
    float& tail = pitch_buf_[len - q + j];
    tail = tail * (1.f - w) + pitch_buf_[len - pitch_ - q + j] * w;
  }
  periods_ = 1;
  buf_len_ = pitch_;
  pos_ = 0;
  // The cycle starts at h[N-P]; it "follows" h[N-P-1], while the listener just heard h[N-1].
  // Shift the synthetic by that difference and let the shift decay: continuous first sample
  // and slope without delaying the real audio.
  ramp_offset_ = history_[kHistory - 1] - history_[kHistory - 1 - pitch_];
  ramp_len_ = std::max(pitch_ / 2, 32);
  ramp_left_ = ramp_len_;
}

float Plc::next_synth() {
  const int start = 3 * pitch_ - buf_len_;
  float v = pitch_buf_[start + pos_];
  pos_ = (pos_ + 1) % buf_len_;
  if (ramp_left_ > 0) {
    v += ramp_offset_ * float(ramp_left_) / float(ramp_len_);
    --ramp_left_;
  }
  return v;
}

void Plc::conceal(int16_t* out) {
  if (erased_ == 0) {
    start_erasure();
  } else if (erased_ <= 2 && periods_ < 3) {
    // One more period each 10 ms for variety (Appendix I), crossfaded over a quarter period
    // from the old cycle into the same phase of the longer one.
    const int q = std::max(pitch_ / 4, 8);
    float old_cycle[kPitchMax];
    for (int i = 0; i < q; ++i) old_cycle[i] = next_synth();
    const int phase = (pos_ + buf_len_ - q) % buf_len_ % pitch_;
    ++periods_;
    buf_len_ = periods_ * pitch_;
    pos_ = phase;
    const int start = 3 * pitch_ - buf_len_;
    // Replay the crossfade region from the new cycle.
    float mixed[kPitchMax];
    for (int i = 0; i < q; ++i) {
      const float w = float(i + 1) / float(q + 1);
      mixed[i] = old_cycle[i] * (1.f - w) + pitch_buf_[start + (pos_ + i) % buf_len_] * w;
    }
    pos_ = (pos_ + q) % buf_len_;
    const int t0 = erased_ * kSubframe;
    for (int i = 0; i < q; ++i) {
      const int t = t0 + i;
      const float gain = t < kSubframe ? 1.f : std::max(0.f, 1.f - kAttenuationPerSample * (t - kSubframe));
      out[i] = clip16(mixed[i] * gain);
    }
    for (int i = q; i < kSubframe; ++i) {
      const int t = t0 + i;
      const float gain = t < kSubframe ? 1.f : std::max(0.f, 1.f - kAttenuationPerSample * (t - kSubframe));
      out[i] = clip16(next_synth() * gain);
    }
    ++erased_;
    append_history(out, kSubframe);
    return;
  }
  const int t0 = erased_ * kSubframe;
  for (int i = 0; i < kSubframe; ++i) {
    const int t = t0 + i;
    const float gain = t < kSubframe ? 1.f : std::max(0.f, 1.f - kAttenuationPerSample * (t - kSubframe));
    out[i] = gain > 0.f ? clip16(next_synth() * gain) : 0;
  }
  if (erased_ < 1000000) ++erased_;
  append_history(out, kSubframe);
}

bool Plc::good(const int16_t* in, int16_t* out) {
  bool changed = false;
  if (erased_ > 0) {
    // Appendix I: overlap 4 ms, plus 4 ms per further erased 10 ms, at most 10 ms.
    const int olen = std::min(32 * erased_, kSubframe);
    const int t0 = erased_ * kSubframe;
    for (int i = 0; i < olen; ++i) {
      const int t = t0 + i;
      const float gain = std::max(0.f, 1.f - kAttenuationPerSample * (t - kSubframe));
      const float synth = gain > 0.f ? next_synth() * gain : 0.f;
      const float w = float(i + 1) / float(olen + 1);
      out[i] = clip16(synth * (1.f - w) + float(in[i]) * w);
    }
    if (out != in) std::memcpy(out + olen, in + olen, sizeof(int16_t) * (kSubframe - olen));
    changed = true;
  } else if (splice_pending_) {
    start_erasure();
    for (int i = 0; i < kSpliceLen; ++i) {
      const float w = float(i + 1) / float(kSpliceLen + 1);
      out[i] = clip16(next_synth() * (1.f - w) + float(in[i]) * w);
    }
    if (out != in) std::memcpy(out + kSpliceLen, in + kSpliceLen, sizeof(int16_t) * (kSubframe - kSpliceLen));
    changed = true;
  } else if (out != in) {
    std::memcpy(out, in, sizeof(int16_t) * kSubframe);
  }
  splice_pending_ = false;
  erased_ = 0;
  append_history(out, kSubframe);
  return changed;
}

}  // namespace grok::media

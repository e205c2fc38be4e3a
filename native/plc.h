// Packet-loss concealment for 8 kHz narrowband speech, after ITU-T G.711 Appendix I:
// pitch detection on the output history, pitch-period repetition (1, then 2, then 3 periods
// for variety), linear attenuation of 20 % per 10 ms after the first 10 ms, silence from 60 ms,
// and an overlap-add merge of the first real audio with the continued concealment.
// Unlike Appendix I it adds no algorithmic delay (Appendix I delays output by 3.75 ms to
// smooth the erasure start): the step into the first concealed sample is removed by a
// decaying offset ramp instead, so real frames can pass through untouched (zero-transcode).
// Works in 10 ms subframes of 80 samples.
#pragma once
#include <cstddef>
#include <cstdint>

namespace grok::media {

class Plc {
 public:
  static constexpr int kSubframe = 80;   // 10 ms at 8 kHz
  static constexpr int kPitchMin = 40;   // 200 Hz
  static constexpr int kPitchMax = 120;  // 66.7 Hz
  static constexpr int kCorrLen = 160;   // 20 ms correlation window (Appendix I CORRLEN)
  static constexpr int kHistory = kPitchMax * 3 + kCorrLen;
  static constexpr int kSilenceAfter = 6;  // subframes: silence after 60 ms

  Plc() { reset(); }
  void reset();

  // A real subframe. `out` may alias `in`. Returns true when `out` differs from `in`
  // (merged with the continued concealment after an erasure or a splice).
  bool good(const int16_t* in, int16_t* out);
  // A missing subframe: writes 80 concealed samples.
  void conceal(int16_t* out);
  // The next good subframe does not follow the history (samples were dropped to shorten the
  // delay): it is crossfaded from the pitch continuation of the history.
  void splice() { splice_pending_ = true; }

  bool concealing() const { return erased_ > 0; }
  int pitch() const { return pitch_; }

 private:
  void append_history(const int16_t* s, int n);
  int find_pitch() const;
  void start_erasure();
  float next_synth();  // one sample of the repeated pitch buffer, before attenuation

  float history_[kHistory];
  float pitch_buf_[kPitchMax * 3];
  int pitch_ = kPitchMin;
  int periods_ = 1;    // pitch periods in use (1, 2, 3)
  int buf_len_ = 0;    // samples in pitch_buf_ in use (periods_ * pitch_)
  int pos_ = 0;        // read position in the repeated cycle
  int erased_ = 0;     // consecutive concealed subframes
  int ramp_left_ = 0;  // samples left in the start-of-erasure offset ramp
  float ramp_offset_ = 0;
  int ramp_len_ = 0;
  bool splice_pending_ = false;
};

}  // namespace grok::media

// Streaming polyphase windowed-sinc (Kaiser) resampler for int16 (or float) mono between 8 kHz and
// 16/24/48 kHz, and between 16 and 24 kHz. State is kept across calls: any split of the input
// into chunks yields exactly the same output samples as a single call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace grok::media {
class Resampler {
 public:
  static bool supported(int in_rate, int out_rate);  // the 8 directed pairs above
  Resampler(int in_rate, int out_rate);              // precondition: supported()
  size_t max_output(size_t n_in) const;              // upper bound of process() output for n_in input
  size_t process(const int16_t* in, size_t n_in, int16_t* out);  // streaming, returns samples written
  // Same filter and kernels on float samples of any scale, no rounding or saturation: int16-valued
  // input gives process()'s output before rounding. max_output() applies. One stream uses one of
  // the two (process()'s pure-delay branches copy buffered input samples, which must be int16 values).
  size_t process_float(const float* in, size_t n_in, float* out);
  void reset();
  int delay_samples() const;  // group delay in output samples
  int in_rate() const;
  int out_rate() const;
  int taps_per_phase() const { return taps_; }
  int phases() const { return up_; }
  double design_stopband_db() const { return stopband_db_; }  // Kaiser design attenuation
  size_t memory_bytes() const;                                // heap held

 private:
  struct DesignTag {};
  Resampler(int in_rate, int out_rate, DesignTag);  // designs the filters (the public one copies them)
  static const Resampler* designed(int in_rate, int out_rate);  // the supported pairs, designed once
  // Exactly one of in16 / inf and one of out16 / outf is non-null.
  size_t run(const int16_t* in16, const float* inf, size_t n_in, int16_t* out16, float* outf);
  int in_rate_ = 0;
  int out_rate_ = 0;
  int up_ = 1;    // L: interpolation factor
  int down_ = 1;  // M: decimation factor
  int taps_ = 0;  // T: taps per polyphase branch (multiple of 8)
  double delay_out_ = 0;
  double stopband_db_ = 0;
  std::vector<float> coefs_;    // up_ branches of taps_ coefficients, time-reversed
  std::vector<int> delay_tap_;  // per branch: the only non-zero tap of a pure-delay branch, or -1
  std::vector<float> work_;
  // M-th band decimators only (see decimate_block): centre tap, per-residue taps, deinterleaved input.
  int center_k_ = -1;
  int sub_len_ = 0;
  size_t stream_len_ = 0;
  std::vector<float> sub_coefs_;
  std::vector<float> streams_;  // (taps_ - 1) history samples followed by one block of input
  int phase_ = 0;               // position of the next output within L sub-steps
  size_t next_in_ = 0;          // input index of the next output, relative to the current block
};
}  // namespace grok::media

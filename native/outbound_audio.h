// Agent -> caller playout queue of one call: audio in the realtime API's output format is
// converted once on push (pass-through, A-law <-> mu-law transcode, or resample to 8 kHz and
// G.711-encode) into a bounded byte queue of call-codec payload, pulled 20 ms (160 bytes) at a time.
// The queue's ring starts at 2 s (16 KB) and doubles as a response outruns playout, up to
// max_queue_ms rounded down to whole 20 ms frames; beyond that the oldest audio is dropped. It
// goes back to 2 s whenever it runs empty, so a call holds the long queue only while it is needed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "audio_format.h"

namespace grok::media {

class Resampler;

struct OutboundStats {
  double pushed_ms = 0;            // converted agent audio that entered the queue
  double padded_ms = 0;            // silence added by flush() to complete the last frame
  double played_ms = 0;            // pulled frames
  double dropped_ms = 0;           // removed by clear() (barge-in)
  double overflow_dropped_ms = 0;  // oldest audio dropped to stay within max_queue_ms
  uint64_t underruns = 0;          // queue ran dry while a response was playing
};

class OutboundAudio {
 public:
  static constexpr size_t kFrameBytes = 160;  // 20 ms of G.711 at 8 kHz
  static constexpr int kMaxQueueMsLimit = 600000;
  static constexpr size_t kInitialBytes = 2000 * 8;  // 2 s: most answers never grow the ring

  static bool supported_rate(int pcm_rate) {
    return pcm_rate == 8000 || pcm_rate == 16000 || pcm_rate == 24000 || pcm_rate == 48000;
  }

  // Agent audio in `format`, `codec` payloads out; max_queue_ms in [20, kMaxQueueMsLimit], of which
  // whole 20 ms frames are kept (a flushed queue is always whole frames).
  OutboundAudio(ApiFormat format, CallCodec codec, int max_queue_ms);
  // PCM16 at pcm_rate in (precondition: supported_rate), also at 8 and 48 kHz, which no ApiFormat
  // names: the fuzz target checks PCM at 8 kHz byte for byte against a model.
  OutboundAudio(int pcm_rate, CallCodec codec, int max_queue_ms);
  ~OutboundAudio();

  void push(const uint8_t* data, size_t len);
  bool pull(uint8_t* frame);  // writes kFrameBytes and returns true, or false when < kFrameBytes queued
  void flush();               // end of a response: drain the resampler, pad the last frame with silence
  double clear();             // barge-in: empty queue and converter state, returns the ms dropped

  double queued_ms() const { return static_cast<double>(size_) / 8.0; }
  size_t queued_bytes() const { return size_; }
  size_t max_bytes() const { return max_bytes_; }
  size_t capacity_bytes() const { return ring_.size(); }
  size_t memory_bytes() const;  // heap held, the resampler's included
  const OutboundStats& stats() const { return stats_; }
  uint8_t silence() const;

 private:
  void append(const uint8_t* codes, size_t n);
  void reallocate(size_t capacity);               // keeps the queued bytes, oldest first at 0
  void append_pcm(const int16_t* pcm, size_t n);  // api-rate PCM -> 8 kHz -> G.711 -> queue
  // pcm_rate > 0: PCM16 at that rate in; 0: G.711 of g711_in in.
  OutboundAudio(int pcm_rate, CallCodec g711_in, CallCodec codec, int max_queue_ms);

  bool pcm_in_;  // PCM16 in (else G.711 of g711_in_)
  CallCodec g711_in_;
  CallCodec codec_;
  std::unique_ptr<Resampler> resampler_;  // only for PCM above 8 kHz
  size_t max_bytes_;
  std::vector<uint8_t> ring_;
  size_t head_ = 0;
  size_t size_ = 0;
  bool has_carry_ = false;  // odd trailing byte of a PCM16 push
  uint8_t carry_ = 0;
  bool in_flight_ = false;  // a frame was pulled and the response has not been flushed
  bool flushed_ = false;
  std::vector<int16_t> pcm_;
  std::vector<int16_t> pcm8k_;
  std::vector<uint8_t> codes_;
  OutboundStats stats_;
};

}  // namespace grok::media

// Caller -> agent audio for one call: RTP payloads in, 20 ms frames in the realtime API's
// format out. Wires the stages top to bottom: JitterBuffer (timing) -> Plc (missing 10 ms
// subframes, in linear) -> G.711 re-encode or resample only when needed. Real subframes pass
// through byte for byte when the API format is the call codec.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "audio_format.h"
#include "jitter_buffer.h"
#include "plc.h"

namespace grok::media {

class Resampler;

class InboundAudio {
 public:
  InboundAudio(CallCodec codec, ApiFormat format, JitterConfig config);
  ~InboundAudio();
  InboundAudio(const InboundAudio&) = delete;
  InboundAudio& operator=(const InboundAudio&) = delete;

  PushStatus push(uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t* payload, size_t n,
                  double arrival_ms) {
    return jitter_.push(seq, ts, ssrc, payload, n, arrival_ms);
  }
  // Bytes of one 20 ms output frame: 160 (G.711), 640 (16 kHz s16le), 960 (24 kHz s16le).
  size_t frame_bytes() const;
  // Writes one frame into `out` (frame_bytes() long); returns 0 before playout has started.
  size_t pull(double now_ms, uint8_t* out);
  JitterStats stats() const { return jitter_.stats(); }
  size_t memory_bytes() const;  // heap held (the object itself holds the JitterBuffer and Plc)

 private:
  void decode(const uint8_t* in, int16_t* out) const;
  void encode(const int16_t* in, uint8_t* out) const;

  CallCodec codec_;
  ApiFormat format_;
  JitterBuffer jitter_;
  Plc plc_;
  std::unique_ptr<Resampler> resampler_;
  std::vector<int16_t> pending_;  // resampler output not yet handed out
  std::vector<int16_t> resampled_;
};

}  // namespace grok::media

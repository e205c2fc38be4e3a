#include "inbound_audio.h"

#include <cstring>

#include "g711.h"
#include "resampler.h"

namespace grok::media {

InboundAudio::InboundAudio(CallCodec codec, ApiFormat format, JitterConfig config)
    : codec_(codec), format_(format), jitter_([&] {
        config.codec = codec;  // what "quiet" means where the delay may change
        return config;
      }()) {
  if (is_pcm(format)) {
    const int rate = sample_rate(format);
    resampler_ = std::make_unique<Resampler>(JitterBuffer::kSampleRate, rate);
    pending_.reserve(rate / 50 * 3);
    resampled_.resize(resampler_->max_output(JitterBuffer::kFrame));
  }
}

InboundAudio::~InboundAudio() = default;

size_t InboundAudio::memory_bytes() const {
  return jitter_.memory_bytes() + (resampler_ ? resampler_->memory_bytes() : 0) +
         (pending_.capacity() + resampled_.capacity()) * sizeof(int16_t);
}

size_t InboundAudio::frame_bytes() const {
  switch (format_) {
    case ApiFormat::Pcm16k:
      return 640;
    case ApiFormat::Pcm24k:
      return 960;
    default:
      return JitterBuffer::kFrame;
  }
}

void InboundAudio::decode(const uint8_t* in, int16_t* out) const {
  if (codec_ == CallCodec::Pcmu) {
    ulaw_decode(in, Plc::kSubframe, out);
  } else {
    alaw_decode(in, Plc::kSubframe, out);
  }
}

void InboundAudio::encode(const int16_t* in, uint8_t* out) const {
  if (format_ == ApiFormat::Pcmu) {
    ulaw_encode(in, Plc::kSubframe, out);
  } else {
    alaw_encode(in, Plc::kSubframe, out);
  }
}

size_t InboundAudio::pull(double now_ms, uint8_t* out) {
  JitterBuffer::Frame frame;
  if (!jitter_.pull(now_ms, frame)) return 0;
  int16_t linear[JitterBuffer::kFrame];
  bool changed[2];
  for (int k = 0; k < 2; ++k) {
    int16_t* lin = linear + k * Plc::kSubframe;
    const uint8_t* bytes = frame.bytes + k * Plc::kSubframe;
    switch (frame.sub[k]) {
      case JitterBuffer::Sub::Real:
      case JitterBuffer::Sub::RealAfterDrop:
        decode(bytes, lin);
        if (frame.sub[k] == JitterBuffer::Sub::RealAfterDrop) plc_.splice();
        changed[k] = plc_.good(lin, lin);
        break;
      case JitterBuffer::Sub::Silence:
        std::memset(lin, 0, sizeof(int16_t) * Plc::kSubframe);
        changed[k] = true;
        break;
      default:
        plc_.conceal(lin);
        changed[k] = true;
        break;
    }
  }

  if (resampler_) {
    const size_t need = frame_bytes() / 2;
    const size_t got = resampler_->process(linear, JitterBuffer::kFrame, resampled_.data());
    pending_.insert(pending_.end(), resampled_.begin(), resampled_.begin() + ptrdiff_t(got));
    if (pending_.size() < need) {
      // A resampler that holds back its filter delay on the first call: pad once at the start.
      pending_.insert(pending_.begin(), need - pending_.size(), 0);
    }
    std::memcpy(out, pending_.data(), need * sizeof(int16_t));  // s16le on little-endian hosts
    pending_.erase(pending_.begin(), pending_.begin() + ptrdiff_t(need));
    if (pending_.size() > need) pending_.resize(need);  // never grows beyond one frame
    return need * 2;
  }

  const bool same = g711_law(format_) == codec_;
  for (int k = 0; k < 2; ++k) {
    uint8_t* dst = out + k * Plc::kSubframe;
    const uint8_t* bytes = frame.bytes + k * Plc::kSubframe;
    if (changed[k]) {
      encode(linear + k * Plc::kSubframe, dst);
    } else if (same) {
      std::memcpy(dst, bytes, Plc::kSubframe);
    } else if (codec_ == CallCodec::Pcma) {
      alaw_to_ulaw(bytes, Plc::kSubframe, dst);
    } else {
      ulaw_to_alaw(bytes, Plc::kSubframe, dst);
    }
  }
  return JitterBuffer::kFrame;
}

}  // namespace grok::media

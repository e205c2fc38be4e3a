#include "outbound_audio.h"

#include <algorithm>
#include <cstring>

#include "g711.h"
#include "resampler.h"

namespace grok::media {
namespace {
// PCM converted per step, bounds the scratch buffers (2 KB + 2 KB + 1 KB at 24 kHz): 43 ms at
// 24 kHz, so a typical 20-100 ms agent delta takes one to three steps.
constexpr size_t kChunkSamples = 1024;
constexpr double kBytesPerMs = 8.0;
}  // namespace

OutboundAudio::OutboundAudio(ApiFormat format, CallCodec codec, int max_queue_ms)
    : OutboundAudio(is_pcm(format) ? sample_rate(format) : 0, is_pcm(format) ? codec : g711_law(format),
                    codec, max_queue_ms) {}

OutboundAudio::OutboundAudio(int pcm_rate, CallCodec codec, int max_queue_ms)
    : OutboundAudio(pcm_rate, codec, codec, max_queue_ms) {}

OutboundAudio::OutboundAudio(int pcm_rate, CallCodec g711_in, CallCodec codec, int max_queue_ms)
    : pcm_in_(pcm_rate > 0),
      g711_in_(g711_in),
      codec_(codec),
      max_bytes_(std::max(kFrameBytes,
                          static_cast<size_t>(std::max(max_queue_ms, 0)) * 8 / kFrameBytes * kFrameBytes)),
      ring_(std::min(max_bytes_, kInitialBytes)) {
  if (pcm_in_) {
    if (pcm_rate != 8000) resampler_ = std::make_unique<Resampler>(pcm_rate, 8000);
    pcm_.resize(kChunkSamples);
    pcm8k_.resize(resampler_ ? resampler_->max_output(kChunkSamples) : kChunkSamples);
    codes_.resize(pcm8k_.size());
  } else if (g711_in_ != codec_) {
    codes_.resize(kChunkSamples);
  }
}

OutboundAudio::~OutboundAudio() = default;

size_t OutboundAudio::memory_bytes() const {
  return ring_.capacity() + pcm_.capacity() * sizeof(int16_t) + pcm8k_.capacity() * sizeof(int16_t) +
         codes_.capacity() + (resampler_ ? resampler_->memory_bytes() : 0);
}

void OutboundAudio::reallocate(size_t capacity) {
  std::vector<uint8_t> ring(capacity);
  const size_t first = std::min(size_, ring_.size() - head_);
  std::memcpy(ring.data(), ring_.data() + head_, first);
  std::memcpy(ring.data() + first, ring_.data(), size_ - first);
  ring_.swap(ring);
  head_ = 0;
}

uint8_t OutboundAudio::silence() const { return codec_ == CallCodec::Pcmu ? kUlawSilence : kAlawSilence; }

void OutboundAudio::append(const uint8_t* codes, size_t n) {
  stats_.pushed_ms += static_cast<double>(n) / kBytesPerMs;
  if (size_ + n > ring_.size() && ring_.size() < max_bytes_) {
    // Geometric growth: a 120 s queue is reached in 6 copies, each of what is queued.
    reallocate(std::min(max_bytes_, std::max(2 * ring_.size(), size_ + n)));
  }
  const size_t cap = ring_.size();
  if (n > cap) {  // only the newest cap bytes can stay
    stats_.overflow_dropped_ms += static_cast<double>(n - cap) / kBytesPerMs;
    codes += n - cap;
    n = cap;
  }
  if (size_ + n > cap) {
    const size_t drop = size_ + n - cap;
    stats_.overflow_dropped_ms += static_cast<double>(drop) / kBytesPerMs;
    head_ = (head_ + drop) % cap;
    size_ -= drop;
  }
  size_t tail = (head_ + size_) % cap;
  const size_t first = std::min(n, cap - tail);
  std::memcpy(ring_.data() + tail, codes, first);
  std::memcpy(ring_.data(), codes + first, n - first);
  size_ += n;
}

void OutboundAudio::append_pcm(const int16_t* pcm, size_t n) {
  const int16_t* narrow = pcm;
  size_t count = n;
  if (resampler_) {
    count = resampler_->process(pcm, n, pcm8k_.data());
    narrow = pcm8k_.data();
  }
  if (codec_ == CallCodec::Pcmu) {
    ulaw_encode(narrow, count, codes_.data());
  } else {
    alaw_encode(narrow, count, codes_.data());
  }
  append(codes_.data(), count);
}

void OutboundAudio::push(const uint8_t* data, size_t len) {
  if (len == 0) return;
  flushed_ = false;
  if (!pcm_in_) {
    if (g711_in_ == codec_) {
      append(data, len);
      return;
    }
    for (size_t off = 0; off < len; off += kChunkSamples) {
      const size_t n = std::min(kChunkSamples, len - off);
      if (codec_ == CallCodec::Pcmu) {
        alaw_to_ulaw(data + off, n, codes_.data());
      } else {
        ulaw_to_alaw(data + off, n, codes_.data());
      }
      append(codes_.data(), n);
    }
    return;
  }
  // PCM16 little-endian; a push may end in the middle of a sample.
  size_t off = 0;
  if (has_carry_) {
    pcm_[0] = static_cast<int16_t>(static_cast<uint16_t>(carry_) | static_cast<uint16_t>(data[0]) << 8);
    has_carry_ = false;
    off = 1;
    append_pcm(pcm_.data(), 1);
  }
  while (len - off >= 2) {
    const size_t n = std::min(kChunkSamples, (len - off) / 2);
    const uint8_t* bytes = data + off;
    for (size_t i = 0; i < n; ++i) {
      pcm_[i] = static_cast<int16_t>(static_cast<uint16_t>(bytes[2 * i]) |
                                     static_cast<uint16_t>(bytes[2 * i + 1]) << 8);
    }
    append_pcm(pcm_.data(), n);
    off += 2 * n;
  }
  if (off < len) {
    carry_ = data[off];
    has_carry_ = true;
  }
}

bool OutboundAudio::pull(uint8_t* frame) {
  if (size_ < kFrameBytes) {
    if (in_flight_ && !flushed_) ++stats_.underruns;
    in_flight_ = false;
    if (size_ == 0 && ring_.size() > kInitialBytes) {
      std::vector<uint8_t>(kInitialBytes).swap(ring_);
      head_ = 0;
    }
    return false;
  }
  const size_t cap = ring_.size();
  const size_t first = std::min(kFrameBytes, cap - head_);
  std::memcpy(frame, ring_.data() + head_, first);
  std::memcpy(frame + first, ring_.data(), kFrameBytes - first);
  head_ = (head_ + kFrameBytes) % cap;
  size_ -= kFrameBytes;
  stats_.played_ms += static_cast<double>(kFrameBytes) / kBytesPerMs;
  in_flight_ = true;
  return true;
}

void OutboundAudio::flush() {
  has_carry_ = false;  // half a sample cannot be played
  if (resampler_) {
    // Zeros push the filter's last delay_samples() outputs (the end of the response) out.
    const size_t zeros =
        (static_cast<size_t>(resampler_->delay_samples()) * resampler_->in_rate() + 7999) / 8000 + 1;
    std::fill(pcm_.begin(), pcm_.begin() + static_cast<std::ptrdiff_t>(std::min(zeros, pcm_.size())), 0);
    append_pcm(pcm_.data(), std::min(zeros, pcm_.size()));
    resampler_->reset();
  }
  const size_t partial = size_ % kFrameBytes;
  if (partial != 0) {
    uint8_t pad[kFrameBytes];
    const size_t n = kFrameBytes - partial;
    std::memset(pad, silence(), n);
    const double before = stats_.pushed_ms;
    append(pad, n);
    stats_.pushed_ms = before;
    stats_.padded_ms += static_cast<double>(n) / kBytesPerMs;
  }
  flushed_ = true;
}

double OutboundAudio::clear() {
  const double dropped = static_cast<double>(size_) / kBytesPerMs;
  stats_.dropped_ms += dropped;
  head_ = 0;
  size_ = 0;
  if (ring_.size() > kInitialBytes) std::vector<uint8_t>(kInitialBytes).swap(ring_);
  has_carry_ = false;
  in_flight_ = false;
  flushed_ = false;
  if (resampler_) resampler_->reset();
  return dropped;
}

}  // namespace grok::media

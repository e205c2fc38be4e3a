#include "jitter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace grok::media {
namespace {
constexpr int64_t kTimelineStart = int64_t(1) << 24;  // keeps positions positive
// Percentile of the relative delays (over the window) that the target delay covers, and the
// thresholds (samples) for moving the playout point: insert at +10 ms, drop at -15 ms so the
// two do not chase each other around the target.
#include <cstdlib>
static double env_or(const char* k, double v) { const char* e = getenv(k); return e ? atof(e) : v; }
static double kTargetPercentile = env_or("JB_Q", 0.98);
static int kDropAfterFrames = int(env_or("JB_DROPAFTER", 25));
static double kMargin = env_or("JB_MARGIN", 0);

int64_t floor_mod(int64_t a, int64_t n) { return ((a % n) + n) % n; }

int64_t round_up_sub(int64_t n) {
  return (n + JitterBuffer::kSubframe - 1) / JitterBuffer::kSubframe * JitterBuffer::kSubframe;
}
}  // namespace

JitterBuffer::JitterBuffer(JitterConfig config)
    : config_(config),
      ring_(kRing, 0),
      valid_(kRing, 0),
      slot_arrival_ms_(kSlots, 0),
      seq_bits_(kSeqWindow / 64, 0),
      delays_(kDelayWindow, 0),
      scratch_(kDelayWindow, 0) {
  config_.min_delay_ms = std::clamp(config_.min_delay_ms, 0, kMaxDelayMs);
  config_.max_delay_ms = std::clamp(config_.max_delay_ms, config_.min_delay_ms, kMaxDelayMs);
  target_ms_ = config_.min_delay_ms;
}

void JitterBuffer::new_epoch(uint32_t ssrc) {
  if (have_epoch_ && seq_anchored_) {
    const int64_t expected = high_seq_ - base_seq_ + 1;
    if (expected > int64_t(epoch_seen_)) lost_closed_ += uint64_t(expected) - epoch_seen_;
  }
  have_epoch_ = true;
  ssrc_ = ssrc;
  seq_anchored_ = false;
  ts_anchored_ = false;
  epoch_seen_ = 0;
  std::fill(seq_bits_.begin(), seq_bits_.end(), 0);
  have_transit_ = false;
}

bool JitterBuffer::seq_seen(int64_t ext) const {
  if (ext > high_seq_ || high_seq_ - ext >= kSeqWindow) return false;
  const uint64_t i = uint64_t(ext) % kSeqWindow;
  return (seq_bits_[i / 64] >> (i % 64)) & 1;
}

void JitterBuffer::mark_seq(int64_t ext) {
  if (ext > high_seq_) {
    if (ext - high_seq_ >= kSeqWindow) {
      std::fill(seq_bits_.begin(), seq_bits_.end(), 0);
    } else {
      for (int64_t s = high_seq_ + 1; s <= ext; ++s) {
        const uint64_t i = uint64_t(s) % kSeqWindow;
        seq_bits_[i / 64] &= ~(uint64_t(1) << (i % 64));
      }
    }
    high_seq_ = ext;
  }
  if (ext < base_seq_) base_seq_ = ext;
  const uint64_t i = uint64_t(ext) % kSeqWindow;
  seq_bits_[i / 64] |= uint64_t(1) << (i % 64);
  ++epoch_seen_;
}

void JitterBuffer::record_delay(double d) {
  if (delays_count_ == 0 || d < min_delay_) min_delay_ = d;
  delays_[delays_next_] = d;
  delays_next_ = (delays_next_ + 1) % kDelayWindow;
  if (delays_count_ < size_t(kDelayWindow)) ++delays_count_;
  delays_dirty_ = true;
  // RFC 3550 6.4.1 / A.8, in ms.
  if (have_transit_) jitter_ += (std::fabs(d - last_transit_) - jitter_) / 16.0;
  last_transit_ = d;
  have_transit_ = true;
}

void JitterBuffer::update_target() {
  if (!delays_dirty_ || delays_count_ == 0) return;
  delays_dirty_ = false;
  std::copy(delays_.begin(), delays_.begin() + delays_count_, scratch_.begin());
  auto end = scratch_.begin() + delays_count_;
  min_delay_ = *std::min_element(scratch_.begin(), end);
  auto nth = scratch_.begin() + size_t(std::floor(kTargetPercentile * double(delays_count_ - 1)));
  std::nth_element(scratch_.begin(), nth, end);
  const double spread = *nth - min_delay_ + kMargin;
  target_ms_ = std::clamp(spread, double(config_.min_delay_ms), double(config_.max_delay_ms));
}

int64_t JitterBuffer::slot_of(int64_t pos) const { return (pos / kSubframe) % kSlots; }

void JitterBuffer::store(int64_t pos, const uint8_t* payload, size_t n, double arrival_ms) {
  for (size_t i = 0; i < n; ++i) {
    const int64_t p = pos + int64_t(i);
    if (p < cursor_ || p >= cursor_ + kRing) continue;
    ring_[p & (kRing - 1)] = payload[i];
    valid_[p & (kRing - 1)] = 1;
  }
  for (int64_t p = std::max(pos, cursor_); p < pos + int64_t(n); p += kSubframe - p % kSubframe) {
    slot_arrival_ms_[slot_of(p)] = arrival_ms;
  }
}

bool JitterBuffer::subframe_complete(int64_t pos) const {
  for (int64_t p = pos; p < pos + kSubframe; ++p) {
    if (!valid_[p & (kRing - 1)]) return false;
  }
  return true;
}

void JitterBuffer::clear(int64_t from, int64_t to) {
  if (to - from >= kRing) {
    std::fill(valid_.begin(), valid_.end(), 0);
    return;
  }
  for (int64_t p = from; p < to; ++p) valid_[p & (kRing - 1)] = 0;
}

PushStatus JitterBuffer::resync(uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t* payload, size_t n,
                                double arrival_ms) {
  new_epoch(ssrc);
  ++stats_.resyncs;
  const PushStatus s = push(seq, ts, ssrc, payload, n, arrival_ms);
  return s == PushStatus::Accepted ? PushStatus::Resync : s;
}

PushStatus JitterBuffer::push(uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t* payload, size_t n,
                              double arrival_ms) {
  if (n > size_t(kMaxPayload) || !std::isfinite(arrival_ms) || (n > 0 && payload == nullptr)) {
    return PushStatus::Invalid;
  }
  if (!have_epoch_) new_epoch(ssrc);
  if (ssrc != ssrc_) return resync(seq, ts, ssrc, payload, n, arrival_ms);

  int64_t ext_seq = seq;
  if (!seq_anchored_) {
    seq_anchored_ = true;
    base_seq_ = high_seq_ = int64_t(seq) + (int64_t(1) << 32);
    ext_seq = high_seq_;
  } else {
    const int delta = int16_t(uint16_t(seq - uint16_t(high_seq_)));
    if (delta > kMaxDropout || delta < -kMaxDropout) return resync(seq, ts, ssrc, payload, n, arrival_ms);
    ext_seq = high_seq_ + delta;
    if (high_seq_ - ext_seq >= kSeqWindow) {
      ++stats_.late;
      return PushStatus::Late;
    }
    if (seq_seen(ext_seq)) {
      ++stats_.duplicates;
      return PushStatus::Duplicate;
    }
  }
  const bool newest = ext_seq >= high_seq_;
  // RFC 4733 events share the sequence space but not the media timing.
  if (n == 0) {
    mark_seq(ext_seq);
    return PushStatus::Accepted;
  }

  int64_t ext_ts;
  const bool anchoring = !ts_anchored_;
  if (anchoring) {
    ext_ts = int64_t(ts) + (int64_t(1) << 32);
    int64_t pos;
    if (!have_cursor_) {
      pos = kTimelineStart;
      cursor_ = pos;
      have_cursor_ = true;
    } else if (!started_) {
      clear(cursor_, cursor_ + kRing);
      pos = cursor_;
    } else {
      // Place the new stream one target delay after the playout point, on the same 10 ms
      // grid; what the old stream left before that point still plays.
      pos = cursor_ + round_up_sub(int64_t(target_ms_ * 8));
      clear(pos, cursor_ + kRing);
    }
    ts_offset_ = pos - ext_ts;
    high_ts_ = ext_ts;
    ts_anchored_ = true;
  } else {
    ext_ts = high_ts_ + int32_t(uint32_t(ts - uint32_t(high_ts_)));
  }
  int64_t pos = ext_ts + ts_offset_;
  const double d = arrival_ms - double(pos + int64_t(n)) / 8.0;
  const bool jumped = delays_count_ > 0 && std::fabs(d - min_delay_) > kTsJumpMs;
  if (jumped && anchoring) {
    // The new stream is placed at the target delay whatever its timing, so a jump here is the
    // arrival clock's: restart the delay statistics from this packet.
    delays_count_ = 0;
    have_transit_ = false;
  } else if (jumped || pos + int64_t(n) > cursor_ + kRing) {
    if (newest) return resync(seq, ts, ssrc, payload, n, arrival_ms);
    return PushStatus::Invalid;
  }
  mark_seq(ext_seq);
  if (ext_ts > high_ts_) high_ts_ = ext_ts;
  if (newest) {
    grid_n_ = int64_t(n);
    grid_phase_ = floor_mod(pos + int64_t(n), grid_n_);
  }
  record_delay(d);

  if (!started_ && pos < cursor_) {
    // Reordered ahead of the first packet, before playout began: start earlier.
    const int64_t back = round_up_sub(cursor_ - pos);
    clear(cursor_ - back, cursor_);
    cursor_ -= back;
  }
  if (pos + int64_t(n) <= cursor_) {
    ++stats_.late;
    return PushStatus::Late;
  }
  store(pos, payload, n, arrival_ms);
  if (pos < cursor_) {
    ++stats_.late;
    return PushStatus::Late;
  }
  ++stats_.received;
  return PushStatus::Accepted;
}

bool JitterBuffer::pull(double now_ms, Frame& frame) {
  if (!have_cursor_ || !std::isfinite(now_ms)) return false;
  update_target();
  // The frame read now must be complete: its end must not pass the end of the newest packet
  // expected by now (relative delays are measured at packet ends), on the senders' packet grid
  // so 20 ms frames line up with 20 ms packets instead of straddling two.
  const int64_t latest_end = int64_t(std::floor((now_ms - min_delay_ - target_ms_) * 8.0));
  const int64_t grid_end = latest_end - floor_mod(latest_end - grid_phase_, grid_n_);
  const int64_t desired = grid_end - kFrame;
  if (!started_) {
    if (desired < cursor_) return false;
    started_ = true;
  }
  int64_t err = cursor_ - desired;
  current_delay_ms_ = now_ms - min_delay_ - double(cursor_ + kFrame) / 8.0;
  // Far behind (pulls stopped for a while, or a clock step): jump instead of dropping 10 ms
  // per frame for seconds.
  const int64_t far = int64_t(config_.max_delay_ms + 200) * 8;
  if (err < -far) {
    const int64_t skip = (-err) / kSubframe * kSubframe;
    clear(cursor_, cursor_ + skip);
    cursor_ += skip;
    stats_.dropped += uint64_t(skip / kSubframe);
    err += skip;
  }
  int k = 0;
  bool after_drop = false;
  if (err > 0) ++missing_run_;  // an inserted subframe is concealment too
  // Grow the delay at once (a late frame is lost audio); shrink it only after the excess has
  // lasted kDropAfterFrames, so a passing dip in the target does not cost a drop and an insert.
  over_frames_ = err <= -kSubframe ? over_frames_ + 1 : 0;
  if (err > 0) {
    frame.sub[k++] = Sub::Inserted;
    ++stats_.inserted;
  } else if (over_frames_ >= kDropAfterFrames) {
    over_frames_ = 0;
    clear(cursor_, cursor_ + kSubframe);
    cursor_ += kSubframe;
    ++stats_.dropped;
    after_drop = true;
  }
  bool missing = false;
  for (; k < 2; ++k) {
    if (subframe_complete(cursor_)) {
      uint8_t* out = frame.bytes + k * kSubframe;
      for (int i = 0; i < kSubframe; ++i) out[i] = ring_[(cursor_ + i) & (kRing - 1)];
      frame.sub[k] = after_drop ? Sub::RealAfterDrop : Sub::Real;
      missing_run_ = 0;
      added_delay_sum_ += now_ms - slot_arrival_ms_[slot_of(cursor_)];
      ++added_delay_n_;
    } else {
      frame.sub[k] = Sub::Missing;
      // Past 60 ms the concealment is silence (G.711 Appendix I): not counted as concealed.
      if (missing_run_ < kAudibleConcealment) missing = true;
      ++missing_run_;
    }
    after_drop = false;
    clear(cursor_, cursor_ + kSubframe);
    cursor_ += kSubframe;
  }
  if (missing) ++stats_.concealed;
  return true;
}

JitterStats JitterBuffer::stats() const {
  JitterStats s = stats_;
  s.lost = lost_closed_;
  if (seq_anchored_) {
    const int64_t expected = high_seq_ - base_seq_ + 1;
    if (expected > int64_t(epoch_seen_)) s.lost += uint64_t(expected) - epoch_seen_;
  }
  s.current_delay_ms = current_delay_ms_;
  s.target_delay_ms = target_ms_;
  s.jitter_ms = jitter_;
  s.mean_added_delay_ms = added_delay_n_ ? added_delay_sum_ / double(added_delay_n_) : 0;
  return s;
}

}  // namespace grok::media

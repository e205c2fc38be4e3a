#include "jitter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "g711.h"

namespace grok::media {
namespace {
// Keeps positions positive, and on the 10 ms grid of the slots (the cursor moves on that grid).
constexpr int64_t kTimelineStart = int64_t(JitterBuffer::kSubframe) << 18;
// Shrink the delay only after >= 10 ms excess has lasted this many frames (0.5 s).
constexpr int kDropAfterFrames = 25;
// ... and with no pause or loss to do it in, by dropping real audio after this many (5 s).
constexpr int kForceDropAfterFrames = 250;
// Below the target for 2 s of speech with no pause (loud noise, a talker who never stops):
// a missing subframe may then grow the delay in speech too, or late packets would go on being lost.
constexpr int kForceGrowAfterFrames = 100;
constexpr int kResyncGraceSubframes = 20;
// Timeline kept beyond twice the maximum delay: the far jump's 200 ms, a frame, a 120 ms payload,
// pull-to-pull slack. Packets beyond it while the pulls are on time are timestamp jumps (resync).
constexpr int kRingSlackMs = 400;
// Quiet subframe (mean |sample|): -50 dBFS absolute, or +6 dB over the noise floor up to -40 dBFS.
constexpr int kQuietLevel = 104;
constexpr int kQuietCap = 328;
constexpr double kFloorStart = 52;           // -56 dBFS: the absolute threshold rules at first
constexpr double kFloorRise = 1.0023131618;  // per subframe: 2^(1/300), +6 dB in 3 s
// Pulls compare now with the cursor in doubles clamped to this (samples, 4.3 years): far beyond
// any jump, and times 1e18 ms apart cannot overflow int64.
constexpr double kMaxTimelineStep = double(int64_t(1) << 40);
// Wait at most this many 10 ms subframes (within 10 ms over the target) for a missing packet.
constexpr int64_t kShrinkExcess = 2 * JitterBuffer::kSubframe;
constexpr int kLateShareFloor = 300;  // 10 ms delay samples: 3 s
// Re-evaluate the target every 5 pulls (100 ms): two passes over the window each time.
constexpr int kTargetEveryPulls = 5;

int64_t floor_mod(int64_t a, int64_t n) { return ((a % n) + n) % n; }

int64_t round_up_sub(int64_t n) {
  return (n + JitterBuffer::kSubframe - 1) / JitterBuffer::kSubframe * JitterBuffer::kSubframe;
}
}  // namespace

JitterBuffer::JitterBuffer(JitterConfig config)
    : config_(config), seq_bits_(kSeqWindow / 64, 0), delays_(kDelayWindow, 0) {
  config_.min_delay_ms = std::clamp(config_.min_delay_ms, 0, kMaxDelayMs);
  config_.max_delay_ms = std::clamp(config_.max_delay_ms, config_.min_delay_ms, kMaxDelayMs);
  if (!(config_.late_cost_ms > 0)) config_.late_cost_ms = JitterConfig{}.late_cost_ms;
  config_.late_cost_ms = std::min(config_.late_cost_ms, kMaxLateCostMs);
  if (config_.codec != CallCodec::Pcma) config_.codec = CallCodec::Pcmu;
  target_ms_ = config_.min_delay_ms;
  // The cursor can fall max + 200 ms behind the target (then it jumps), which is at most max.
  slots_.resize(size_t((2 * config_.max_delay_ms + kRingSlackMs) / 10));
  histogram_.assign(size_t(config_.max_delay_ms) + 2, 0);
  noise_floor_ = kFloorStart;
}

size_t JitterBuffer::memory_bytes() const {
  return slots_.capacity() * sizeof(Slot) + seq_bits_.capacity() * sizeof(uint64_t) +
         delays_.capacity() * sizeof(double) + histogram_.capacity() * sizeof(uint16_t);
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
}

void JitterBuffer::update_target() {
  if (!delays_dirty_ || delays_count_ == 0) return;
  delays_dirty_ = false;
  const auto begin = delays_.begin();
  const auto end = begin + ptrdiff_t(delays_count_);
  min_delay_ = *std::min_element(begin, end);
  // 1 ms histogram of the spread above the minimum (linear in the window, no sort).
  std::fill(histogram_.begin(), histogram_.end(), 0);
  const int last = int(histogram_.size()) - 1;
  for (auto it = begin; it != end; ++it) ++histogram_[size_t(std::min(*it - min_delay_, double(last)))];
  const double n = double(delays_count_);
  // Late shares over at least 3 s of audio: early in a stream the window is short and one packet
  // late by a start-up stall would be percents of it and raise the target at once (and the first
  // pause would then move the delay); the part of the window not yet filled counts as on time.
  const double share_of = std::max(n, double(kLateShareFloor));
  double best = double(config_.min_delay_ms);
  double best_cost = 1e300;
  uint32_t on_time = 0;
  for (int b = 0; b <= last; ++b) {
    on_time += histogram_[size_t(b)];
    const double t = std::max(double(b + 1), double(config_.min_delay_ms));
    if (t > config_.max_delay_ms) break;
    const double cost = t + config_.late_cost_ms * 100.0 * (n - on_time) / share_of;
    if (cost < best_cost) best_cost = cost, best = t;
  }
  target_ms_ = std::clamp(best, double(config_.min_delay_ms), double(config_.max_delay_ms));
}

void JitterBuffer::store(int64_t pos, const uint8_t* payload, size_t n, double arrival_ms) {
  int64_t p = std::max(pos, cursor_);
  const int64_t end = std::min(pos + int64_t(n), cursor_ + ring_samples());
  while (p < end) {
    Slot& s = slot(p);
    const int64_t sub_end = std::min(end, p - p % kSubframe + kSubframe);
    for (; p < sub_end; ++p) {
      const int i = int(p % kSubframe);
      s.bytes[i] = payload[p - pos];
      s.valid[i / 16] = uint16_t(s.valid[i / 16] | (1u << (i % 16)));
    }
    s.arrival_ms = arrival_ms;
  }
}

bool JitterBuffer::subframe_complete(int64_t pos) const {
  for (const uint16_t w : slot(pos).valid) {
    if (w != 0xffff) return false;
  }
  return true;
}

int JitterBuffer::level(int64_t pos) const {
  int16_t pcm[kSubframe];
  if (config_.codec == CallCodec::Pcma) {
    alaw_decode(slot(pos).bytes, kSubframe, pcm);
  } else {
    ulaw_decode(slot(pos).bytes, kSubframe, pcm);
  }
  int sum = 0;
  for (const int16_t v : pcm) sum += v < 0 ? -v : v;
  return sum / kSubframe;
}

// Where a missing subframe may move the delay: after quiet audio, or 60 ms into an outage, where
// concealment has faded to silence (a peer that sends nothing in its pauses, or a long loss).
bool JitterBuffer::in_pause_or_outage() const {
  return last_quiet_ || missing_run_ >= kAudibleConcealment || resync_grace_ > 0;
}

bool JitterBuffer::quiet(int level) const {
  const double relative = std::min(2 * noise_floor_, double(kQuietCap));
  return level < kQuietLevel || level < relative;
}

void JitterBuffer::track_floor(int level) {
  noise_floor_ = std::min(double(level), noise_floor_ * kFloorRise);
  noise_floor_ = std::max(noise_floor_, 1.0);  // digital silence: keep rising from 1, not 0
}

// Positions are on the 10 ms grid: whole slots are cleared.
void JitterBuffer::clear(int64_t from, int64_t to) {
  if (to - from >= ring_samples()) {
    for (Slot& s : slots_) std::fill(std::begin(s.valid), std::end(s.valid), 0);
    return;
  }
  for (int64_t p = from; p < to; p += kSubframe) {
    Slot& s = slot(p);
    std::fill(std::begin(s.valid), std::end(s.valid), 0);
  }
}

PushStatus JitterBuffer::resync(uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t* payload, size_t n,
                                double arrival_ms) {
  new_epoch(ssrc);
  ++stats_.resyncs;
  // The audio is discontinuous here anyway: for the next 200 ms of playout (the old stream's tail
  // and the new one's start) the playout point may move as in a pause.
  resync_grace_ = kResyncGraceSubframes;
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
      clear(cursor_, cursor_ + ring_samples());
      pos = cursor_;
    } else {
      // Place the new stream one target delay after the playout point, on the same 10 ms
      // grid; what the old stream left before that point still plays.
      pos = cursor_ + round_up_sub(int64_t(target_ms_ * 8));
      clear(pos, cursor_ + ring_samples());
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
  } else if (jumped) {
    if (newest) return resync(seq, ts, ssrc, payload, n, arrival_ms);
    return PushStatus::Invalid;
  } else if (pos + int64_t(n) > cursor_ + ring_samples()) {
    if (!newest) return PushStatus::Invalid;
    // In time (its delay is about the fastest) but beyond the timeline kept: the pulls fell more
    // than max + 200 ms behind (a stalled clock) and the next one would jump over this audio
    // anyway. Make room now, oldest first. Far earlier than the fastest: a timestamp jump.
    if (!started_ || d < min_delay_ - 100) return resync(seq, ts, ssrc, payload, n, arrival_ms);
    const int64_t skip = round_up_sub(pos + int64_t(n) - cursor_ - ring_samples());
    clear(cursor_, cursor_ + skip);
    cursor_ += skip;
    stats_.dropped += uint64_t(skip / kSubframe);
    stats_.forced_drops += uint64_t(skip / kSubframe);
  }
  mark_seq(ext_seq);
  if (ext_ts > high_ts_) high_ts_ = ext_ts;
  // One relative delay per 10 ms of audio, measured at its end: a frame can straddle two
  // packets, and what counts is when each of its subframes became available.
  for (int64_t e = kSubframe; e < int64_t(n) + kSubframe; e += kSubframe) {
    record_delay(arrival_ms - double(pos + std::min<int64_t>(e, int64_t(n))) / 8.0);
  }
  // RFC 3550 6.4.1 / A.8, in ms.
  if (have_transit_) jitter_ += (std::fabs(d - last_transit_) - jitter_) / 16.0;
  last_transit_ = d;
  have_transit_ = true;

  if (!started_ && pos < cursor_) {
    // Reordered ahead of the first packet, before playout began: start earlier.
    const int64_t back = round_up_sub(cursor_ - pos);
    clear(cursor_ - back, cursor_);
    cursor_ -= back;
  }
  if (pos + int64_t(n) <= cursor_) {
    ++stats_.late;
    stats_.late_samples += n;
    return PushStatus::Late;
  }
  store(pos, payload, n, arrival_ms);
  if (pos < cursor_) {
    ++stats_.late;
    stats_.late_samples += uint64_t(cursor_ - pos);
    return PushStatus::Late;
  }
  ++stats_.received;
  return PushStatus::Accepted;
}

bool JitterBuffer::pull(double now_ms, Frame& frame) {
  if (!have_cursor_ || !std::isfinite(now_ms)) return false;
  if (pulls_++ % kTargetEveryPulls == 0) update_target();
  // The frame read now should be complete: its last subframe's end is `target` behind `now`
  // (relative to the fastest packet), rounded down to the 10 ms grid the cursor moves on.
  // Relative to the cursor, in doubles first: a clock step of any size stays in range.
  double ahead = std::floor((now_ms - min_delay_ - target_ms_) * 8.0 - double(cursor_));
  if (std::isnan(ahead)) ahead = 0;
  const int64_t latest_end = int64_t(std::clamp(ahead, -kMaxTimelineStep, kMaxTimelineStep));
  const int64_t desired = latest_end - floor_mod(latest_end, kSubframe) - kFrame;  // - cursor_
  bool lead_in = false;
  if (!started_) {
    // Start up to 10 ms early with 10 ms of silence: starting up to 10 ms late would later
    // cost a drop of real audio.
    if (desired + kSubframe < 0) return false;
    started_ = true;
    lead_in = true;
  }
  int64_t err = -desired;  // > 0: less delay than the target
  current_delay_ms_ = now_ms - min_delay_ - double(cursor_ + kFrame) / 8.0;
  // Far behind (pulls stopped for a while, or a clock step): jump rather than drop 10 ms a frame.
  const int64_t far = int64_t(config_.max_delay_ms + 200) * 8;
  if (err < -far) {
    const int64_t skip = (-err) / kSubframe * kSubframe;
    clear(cursor_, cursor_ + skip);
    cursor_ += skip;
    stats_.dropped += uint64_t(skip / kSubframe);
    stats_.forced_drops += uint64_t(skip / kSubframe);
    err += skip;
  }
  // Grow at the first pause or missing subframe; shrink at the first missing one, or in a pause
  // once the excess has lasted kDropAfterFrames (a dip in the target costs nothing).
  // Shrinking waits for 20 ms of excess: 10 ms above the target (the start-up phase, a minimum
  // that eased by a few ms) costs 10 ms of latency, a move inside a phrase would cost more.
  over_frames_ = err <= -kShrinkExcess ? over_frames_ + 1 : 0;
  under_frames_ = err > 0 ? under_frames_ + 1 : 0;
  int k = 0;
  bool spliced = false;
  bool dropped = false;  // at most one drop of real audio per frame: a pause is shortened, not removed
  bool concealed = false;
  if (err > 0 && lead_in) {
    frame.sub[k++] = Sub::Silence;
    err -= kSubframe;
  }
  while (k < 2) {
    if (resync_grace_ > 0) --resync_grace_;
    if (subframe_complete(cursor_)) {
      const int lvl = level(cursor_);
      const bool quiet_now = quiet(lvl);
      if (err > 0 && quiet_now && last_quiet_) {
        // In a pause: 10 ms of concealment (of quiet audio) between two quiet subframes.
        frame.sub[k++] = Sub::Inserted;
        ++stats_.inserted;
        ++missing_run_;
        err -= kSubframe;
        continue;
      }
      const bool excess = err <= -kShrinkExcess && !dropped;
      const bool in_pause = quiet_now && last_quiet_ && subframe_complete(cursor_ + kSubframe) &&
                            quiet(level(cursor_ + kSubframe));
      const bool force = over_frames_ >= kForceDropAfterFrames;
      if (excess && ((over_frames_ >= kDropAfterFrames && in_pause) || force)) {
        // Drop 10 ms of a pause, the next subframe quiet too; or, with no pause and no loss for
        // 5 s, of whatever plays (spliced), then again every 0.5 s while the excess lasts.
        if (force && !in_pause) {
          ++stats_.forced_drops;
          over_frames_ = kForceDropAfterFrames - kDropAfterFrames;
        }
        clear(cursor_, cursor_ + kSubframe);
        cursor_ += kSubframe;
        ++stats_.dropped;
        err += kSubframe;
        spliced = true;
        dropped = true;
        continue;
      }
      uint8_t* out = frame.bytes + k * kSubframe;
      std::memcpy(out, slot(cursor_).bytes, kSubframe);
      frame.sub[k] = spliced ? Sub::RealAfterDrop : Sub::Real;
      missing_run_ = 0;
      added_delay_sum_ += now_ms - slot(cursor_).arrival_ms;
      ++added_delay_n_;
      track_floor(lvl);
      last_quiet_ = quiet_now;
    } else if (err <= -(resync_grace_ > 0 ? kSubframe : kShrinkExcess) &&
               subframe_complete(cursor_ + kSubframe) && in_pause_or_outage()) {
      // Missing audio in a pause while holding 20 ms more delay than needed (10 ms at a stream
      // change, where re-anchoring leaves such holes): close the gap
      // instead of concealing it; the delay shrinks without dropping real audio. In speech a gap
      // is concealed in place: what follows keeps its time.
      clear(cursor_, cursor_ + kSubframe);
      cursor_ += kSubframe;
      err += kSubframe;
      ++stats_.skipped;
      spliced = true;
      continue;
    } else if (err > 0 && (in_pause_or_outage() || under_frames_ >= kForceGrowAfterFrames)) {
      // In a pause, missing below the target: grow over it, concealing without consuming, so its
      // packet (late) gets 10 ms more. Not in speech: a growth there would move everything after
      // it by 10 ms (a late packet in speech is concealed and dropped; the delay grows at the
      // pause). No waiting for a reordered packet at the target: in a pause a missing subframe is
      // silence anyway, and a wait that its packet answers moves the delay for nothing.
      frame.sub[k++] = Sub::Inserted;
      ++stats_.inserted;
      if (missing_run_++ < kAudibleConcealment) concealed = true;
      err -= kSubframe;
      continue;
    } else {
      frame.sub[k] = Sub::Missing;
      // Past 60 ms the concealment is silence (G.711 Appendix I): not counted as concealed.
      if (missing_run_++ < kAudibleConcealment) concealed = true;
    }
    spliced = false;
    clear(cursor_, cursor_ + kSubframe);
    cursor_ += kSubframe;
    ++k;
  }
  if (concealed) ++stats_.concealed;
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

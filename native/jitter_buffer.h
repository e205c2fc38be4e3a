// Adaptive jitter buffer for 8 kHz G.711 RTP (one byte per sample, any ptime).
// Payload bytes are stored by RTP timestamp on a continuous playout timeline; pull() reads
// 20 ms at a time in two 10 ms subframes, each real or to be concealed by the caller.
// Timing: every 10 ms of received audio gives a relative delay (arrival - its end on the
// timeline). The playout point is the minimum of those over a 10 s window plus a target delay
// that minimises "delay + late_cost_ms per % of audio that would have been late" over the same
// window, clamped to [min, max].
// The playout point moves in 10 ms steps, only where needed and only where it moves no speech:
// in a pause (after a quiet subframe), at a stream change, or 60 ms into an outage (concealment
// has faded to silence). There:
//  - below the target, a missing subframe is concealed without consuming the timeline (grow: its
//    packet gets 10 ms more), or a concealed subframe is inserted between two quiet ones;
//  - 20 ms or more above the target (10 ms is tolerated: moving costs more than it saves), a
//    missing subframe is closed instead of concealed, or after 0.5 s a quiet subframe between
//    quiet ones is dropped (shrink).
// In speech a missing subframe is concealed in place and a late packet dropped: everything after
// keeps its time, so a phrase comes out at one delay. Nothing waits for reordered packets: a wait
// that the packet answers moves the delay, and in a pause the missing audio is silence anyway.
// Quiet: mean |sample| of the decoded subframe below 104 (-50 dBFS), or below twice (+6 dB) a
// tracked noise floor but never above 328 (-40 dBFS), so a line with background noise has pauses
// too while a fricative (weak speech 20-30 dB under the vowels, above the noise) does not count.
// Fallbacks for sound that never pauses (loud noise, a talker who never stops): below the target
// for 2 s, a missing subframe grows the delay in speech too; after 5 s of excess with no pause
// and no loss, 10 ms of real audio is dropped and spliced (forced_drops). SSRC changes, absurd
// sequence jumps (RFC 3550 A.1 MAX_DROPOUT) and timestamp jumps re-anchor the new stream on the
// same timeline (resync). Memory is fixed at construction and scales with max_delay_ms (see
// memory_bytes()).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "audio_format.h"

namespace grok::media {

enum class PushStatus { Accepted, Duplicate, Late, Resync, Invalid };

struct JitterConfig {
  int min_delay_ms = 20;
  int max_delay_ms = 200;
  // Milliseconds of added delay that 1 % of late audio is worth when the target is chosen:
  // lower gives less delay and more late loss. 6.5, chosen on bench/jitter.cc's 'tuning' traces:
  // better than speexdsp's default (<= delay and < late) on 12 of those 14 against 8 with 9 ms,
  // and on 6 of 14 fresh traces either way; the lower delay decided it (a voice agent waits on it).
  double late_cost_ms = 6.5;
  // The law of the payload bytes: what "quiet" means when the delay may change.
  CallCodec codec = CallCodec::Pcmu;
};

struct JitterStats {
  uint64_t received = 0;      // packets stored (in time), including the one of a resync
  uint64_t late = 0;          // packets that arrived (at least partly) after their playout time
  uint64_t late_samples = 0;  // of which samples discarded
  uint64_t lost = 0;          // sequence numbers never received (RFC 3550 A.3, per SSRC epoch)
  uint64_t duplicates = 0;
  uint64_t concealed = 0;  // 20 ms frames with audible concealment (within 60 ms of a loss)
  uint64_t resyncs = 0;
  uint64_t inserted = 0;      // 10 ms concealed subframes inserted to grow the delay (or to wait)
  uint64_t dropped = 0;       // 10 ms subframes of real audio dropped to shrink the delay
  uint64_t skipped = 0;       // 10 ms gaps closed instead of concealed to shrink the delay
  uint64_t forced_drops = 0;  // of `dropped`, not quiet (after 5 s of excess, or pulls stalled)
  double current_delay_ms = 0;
  double target_delay_ms = 0;
  double jitter_ms = 0;            // RFC 3550 6.4.1 interarrival jitter
  double mean_added_delay_ms = 0;  // mean (playout - arrival) over played real subframes
};

class JitterBuffer {
 public:
  static constexpr int kSampleRate = 8000;
  static constexpr int kFrame = 160;
  static constexpr int kSubframe = 80;
  static constexpr int kMaxDelayMs = 1000;
  static constexpr int kMaxPayload = 8 * 120;  // 120 ms: beyond any sane ptime
  static constexpr double kMaxLateCostMs = 1000;

  // Real: play `bytes`. RealAfterDrop: play `bytes`, spliced after audio removed before it.
  // Missing / Inserted: conceal (Inserted did not consume the timeline). Silence: start-up.
  enum class Sub : uint8_t { Real, RealAfterDrop, Missing, Inserted, Silence };
  struct Frame {
    uint8_t bytes[kFrame];  // valid for Real / RealAfterDrop subframes
    Sub sub[2];
  };

  explicit JitterBuffer(JitterConfig config);

  PushStatus push(uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t* payload, size_t n,
                  double arrival_ms);
  // False before playout started (first packet not yet held for the target delay).
  bool pull(double now_ms, Frame& frame);
  JitterStats stats() const;
  size_t memory_bytes() const;  // heap held (the object's own size aside)

 private:
  // One 10 ms subframe of the timeline: 80 bytes and which of them arrived.
  struct Slot {
    uint8_t bytes[kSubframe];
    uint16_t valid[kSubframe / 16];  // bit i of word w: sample 16 w + i stored
    double arrival_ms;               // of the packet that last wrote into it
  };
  static constexpr int kSeqWindow = 1024;
  static constexpr int kDelayWindow = 1000;  // 10 ms subframes: 10 s of audio
  static constexpr int kMaxDropout = 3000;   // RFC 3550 A.1
  static constexpr double kTsJumpMs = 1500;
  static constexpr int kAudibleConcealment = 6;  // subframes (60 ms), as Plc::kSilenceAfter

  void new_epoch(uint32_t ssrc);
  bool seq_seen(int64_t ext) const;
  void mark_seq(int64_t ext);
  void record_delay(double d);
  void update_target();
  void store(int64_t pos, const uint8_t* payload, size_t n, double arrival_ms);
  bool subframe_complete(int64_t pos) const;
  int level(int64_t pos) const;  // mean |sample| of a stored subframe, decoded
  bool in_pause_or_outage() const;
  bool quiet(int level) const;
  void track_floor(int level);  // once per played real subframe
  void clear(int64_t from, int64_t to);
  Slot& slot(int64_t pos) { return slots_[size_t((pos / kSubframe) % int64_t(slots_.size()))]; }
  const Slot& slot(int64_t pos) const { return slots_[size_t((pos / kSubframe) % int64_t(slots_.size()))]; }
  int64_t ring_samples() const { return int64_t(slots_.size()) * kSubframe; }
  PushStatus resync(uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t* payload, size_t n,
                    double arrival_ms);

  JitterConfig config_;
  std::vector<Slot> slots_;  // the timeline from cursor_ on, 2 max_delay_ms + 400 ms of it
  std::vector<uint64_t> seq_bits_;
  std::vector<double> delays_;       // ring of relative delays (ms) of the last kDelayWindow packets
  std::vector<uint16_t> histogram_;  // 1 ms bins of (relative delay - minimum), up to max + 1
  size_t delays_count_ = 0;
  size_t delays_next_ = 0;
  bool delays_dirty_ = false;

  // Epoch = one SSRC and one continuous seq/ts numbering.
  bool have_epoch_ = false;
  uint32_t ssrc_ = 0;
  bool seq_anchored_ = false;
  int64_t base_seq_ = 0, high_seq_ = 0;
  uint64_t epoch_seen_ = 0;
  bool ts_anchored_ = false;
  int64_t high_ts_ = 0;    // extended ts of the newest packet
  int64_t ts_offset_ = 0;  // timeline position = extended ts + ts_offset_
  uint64_t lost_closed_ = 0;

  // Playout.
  bool started_ = false;
  bool have_cursor_ = false;
  int64_t cursor_ = 0;    // timeline position of the next sample to play
  double min_delay_ = 0;  // D: minimum relative delay (ms, at packet end) in the window
  uint64_t pulls_ = 0;
  int missing_run_ = 0;     // consecutive concealed subframes
  int over_frames_ = 0;     // consecutive pulls with at least 10 ms more delay than needed
  int under_frames_ = 0;    // consecutive pulls with less delay than the target
  int resync_grace_ = 0;    // subframes after a resync during which the delay may move in sound
  bool last_quiet_ = true;  // the last subframe played was quiet (or start-up silence)
  double noise_floor_ = 0;  // tracked minimum of the subframe level (mean |sample|)
  double target_ms_ = 0;
  double last_transit_ = 0;
  bool have_transit_ = false;
  double jitter_ = 0;
  double current_delay_ms_ = 0;
  double added_delay_sum_ = 0;
  uint64_t added_delay_n_ = 0;
  JitterStats stats_;
};

}  // namespace grok::media

// Binds InboundAudio (caller RTP -> 20 ms frames in the API format): argument checks and
// Buffers in and out; all per-sample work is in inbound_audio.cc.
#include <cmath>
#include <memory>
#include <string>

#include "addon_args.h"
#include "bindings.h"
#include "inbound_audio.h"

namespace grok::bindings {
namespace {

using grok::media::ApiFormat;
using grok::media::CallCodec;
using grok::media::InboundAudio;
using grok::media::JitterBuffer;
using grok::media::JitterConfig;
using grok::media::PushStatus;

const char* status_name(PushStatus s) {
  switch (s) {
    case PushStatus::Accepted:
      return "accepted";
    case PushStatus::Duplicate:
      return "duplicate";
    case PushStatus::Late:
      return "late";
    case PushStatus::Resync:
      return "resync";
    default:
      return "invalid";
  }
}

class InboundAudioWrap : public Napi::ObjectWrap<InboundAudioWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "InboundAudio",
                       {
                           InstanceMethod<&InboundAudioWrap::Push>("push"),
                           InstanceMethod<&InboundAudioWrap::Pull>("pull"),
                           InstanceMethod<&InboundAudioWrap::Stats>("stats"),
                           InstanceMethod<&InboundAudioWrap::FrameBytes>("frameBytes"),
                       });
  }

  explicit InboundAudioWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<InboundAudioWrap>(info) {
    Napi::Env env = info.Env();
    CallCodec codec = CallCodec::Pcmu;
    ApiFormat format = ApiFormat::Pcmu;
    if (!call_codec_arg(info, 0, "InboundAudio: callCodec", codec)) return;
    if (!api_format_arg(info, 1, "InboundAudio: apiFormat", format)) return;
    double min_ms = 0, max_ms = 0;
    const double cap = JitterBuffer::kMaxDelayMs;
    if (!integer_arg(info, 2, "InboundAudio: minDelayMs", 0, cap, min_ms)) return;
    if (!integer_arg(info, 3, "InboundAudio: maxDelayMs", 0, cap, max_ms)) return;
    if (min_ms > max_ms) {
      range_error(env, "InboundAudio: minDelayMs must not exceed maxDelayMs");
      return;
    }
    JitterConfig config{int(min_ms), int(max_ms)};
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      double cost = 0;
      if (!number_arg(info, 4, "InboundAudio: lateCostMs", cost)) return;
      if (!std::isfinite(cost) || cost <= 0 || cost > JitterBuffer::kMaxLateCostMs) {
        range_error(env, "InboundAudio: lateCostMs must be in (0, " +
                             number_text(JitterBuffer::kMaxLateCostMs) + "], got " + number_text(cost));
        return;
      }
      config.late_cost_ms = cost;
    }
    audio_ = std::make_unique<InboundAudio>(codec, format, config);
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "InboundAudio: not constructed");
    double seq = 0, ts = 0, ssrc = 0, arrival_ms = 0;
    Napi::Uint8Array payload;
    if (!integer_arg(info, 0, "InboundAudio: seq", 0, 65535, seq)) return env.Undefined();
    if (!integer_arg(info, 1, "InboundAudio: ts", 0, 4294967295.0, ts)) return env.Undefined();
    if (!integer_arg(info, 2, "InboundAudio: ssrc", 0, 4294967295.0, ssrc)) return env.Undefined();
    if (!bytes_arg(info, 3, "InboundAudio: payload", payload)) return env.Undefined();
    if (!finite_arg(info, 4, "InboundAudio: arrivalMs", arrival_ms)) return env.Undefined();
    const PushStatus s = audio_->push(uint16_t(seq), uint32_t(ts), uint32_t(ssrc), payload.Data(),
                                      payload.ElementLength(), arrival_ms);
    return Napi::String::New(env, status_name(s));
  }

  Napi::Value Pull(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "InboundAudio: not constructed");
    double now_ms = 0;
    if (!finite_arg(info, 0, "InboundAudio: nowMs", now_ms)) return env.Undefined();
    uint8_t frame[960];
    const size_t n = audio_->pull(now_ms, frame);
    if (n == 0) return env.Undefined();
    return Napi::Buffer<uint8_t>::Copy(env, frame, n);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "InboundAudio: not constructed");
    const auto s = audio_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("received", double(s.received));
    o.Set("late", double(s.late));
    o.Set("lost", double(s.lost));
    o.Set("duplicates", double(s.duplicates));
    o.Set("concealed", double(s.concealed));
    o.Set("resyncs", double(s.resyncs));
    o.Set("inserted", double(s.inserted));
    o.Set("dropped", double(s.dropped));
    o.Set("skipped", double(s.skipped));
    o.Set("forcedDrops", double(s.forced_drops));
    o.Set("currentDelayMs", s.current_delay_ms);
    o.Set("targetDelayMs", s.target_delay_ms);
    o.Set("jitterMs", s.jitter_ms);
    o.Set("meanAddedDelayMs", s.mean_added_delay_ms);
    return o;
  }

  Napi::Value FrameBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "InboundAudio: not constructed");
    return Napi::Number::New(env, double(audio_->frame_bytes()));
  }

  std::unique_ptr<InboundAudio> audio_;
};

}  // namespace

void InitInbound(Napi::Env env, Napi::Object exports) {
  exports.Set("InboundAudio", InboundAudioWrap::Define(env));
}

}  // namespace grok::bindings

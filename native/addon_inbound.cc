// Binds InboundAudio (caller RTP -> 20 ms frames in the API format): argument checks and
// Buffers in and out; all per-sample work is in inbound_audio.cc.
#include <cmath>
#include <memory>
#include <sstream>
#include <string>

#include "bindings.h"
#include "inbound_audio.h"

namespace grok::bindings {
namespace {

using grok::media::ApiFormat;
using grok::media::CallCodec;
using grok::media::PushStatus;

Napi::Value type_error(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, "InboundAudio: " + msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value range_error(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, "InboundAudio: " + msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// An integer in [lo, hi] or an exception; returns false when one was thrown.
bool integer_arg(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi, double& out) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsNumber()) {
    type_error(env, std::string(name) + " must be a number");
    return false;
  }
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || v < lo || v > hi) {
    std::ostringstream msg;
    msg << name << " must be an integer in [" << int64_t(lo) << ", " << int64_t(hi) << "], got " << v;
    range_error(env, msg.str());
    return false;
  }
  out = v;
  return true;
}

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
                       {InstanceMethod<&InboundAudioWrap::Push>("push"),
                        InstanceMethod<&InboundAudioWrap::Pull>("pull"),
                        InstanceMethod<&InboundAudioWrap::Stats>("stats"),
                        InstanceMethod<&InboundAudioWrap::FrameBytes>("frameBytes")});
  }

  explicit InboundAudioWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<InboundAudioWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString()) {
      type_error(env,
                 "expected (callCodec: string, apiFormat: string, minDelayMs: number, maxDelayMs: number"
                 "[, lateCostMs: number])");
      return;
    }
    const std::string codec = info[0].As<Napi::String>().Utf8Value();
    const std::string format = info[1].As<Napi::String>().Utf8Value();
    CallCodec call_codec;
    if (codec == "PCMU") {
      call_codec = CallCodec::Pcmu;
    } else if (codec == "PCMA") {
      call_codec = CallCodec::Pcma;
    } else {
      range_error(env, "callCodec must be 'PCMU' or 'PCMA', got '" + codec + "'");
      return;
    }
    ApiFormat api_format;
    if (format == "pcmu") {
      api_format = ApiFormat::Pcmu;
    } else if (format == "pcma") {
      api_format = ApiFormat::Pcma;
    } else if (format == "pcm@16000") {
      api_format = ApiFormat::Pcm16k;
    } else if (format == "pcm@24000") {
      api_format = ApiFormat::Pcm24k;
    } else {
      range_error(env, "apiFormat must be 'pcmu', 'pcma', 'pcm@16000' or 'pcm@24000', got '" + format + "'");
      return;
    }
    double min_ms = 0, max_ms = 0;
    const double cap = grok::media::JitterBuffer::kMaxDelayMs;
    if (!integer_arg(info, 2, "minDelayMs", 0, cap, min_ms)) return;
    if (!integer_arg(info, 3, "maxDelayMs", 0, cap, max_ms)) return;
    if (min_ms > max_ms) {
      range_error(env, "minDelayMs must not exceed maxDelayMs");
      return;
    }
    grok::media::JitterConfig config{int(min_ms), int(max_ms)};
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      if (!info[4].IsNumber()) {
        type_error(env, "lateCostMs must be a number");
        return;
      }
      const double cost = info[4].As<Napi::Number>().DoubleValue();
      if (!std::isfinite(cost) || cost <= 0 || cost > grok::media::JitterBuffer::kMaxLateCostMs) {
        std::ostringstream msg;
        msg << "lateCostMs must be in (0, " << grok::media::JitterBuffer::kMaxLateCostMs << "], got " << cost;
        range_error(env, msg.str());
        return;
      }
      config.late_cost_ms = cost;
    }
    audio_ = std::make_unique<grok::media::InboundAudio>(call_codec, api_format, config);
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "not constructed");
    double seq, ts, ssrc;
    if (!integer_arg(info, 0, "seq", 0, 65535, seq)) return env.Undefined();
    if (!integer_arg(info, 1, "ts", 0, 4294967295.0, ts)) return env.Undefined();
    if (!integer_arg(info, 2, "ssrc", 0, 4294967295.0, ssrc)) return env.Undefined();
    if (info.Length() < 4 || !info[3].IsTypedArray() ||
        info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      return type_error(env, "payload must be a Buffer or Uint8Array");
    }
    if (info.Length() < 5 || !info[4].IsNumber()) return type_error(env, "arrivalMs must be a number");
    const double arrival_ms = info[4].As<Napi::Number>().DoubleValue();
    if (!std::isfinite(arrival_ms)) return range_error(env, "arrivalMs must be finite");
    auto payload = info[3].As<Napi::Uint8Array>();
    const PushStatus s = audio_->push(uint16_t(seq), uint32_t(ts), uint32_t(ssrc), payload.Data(),
                                      payload.ElementLength(), arrival_ms);
    return Napi::String::New(env, status_name(s));
  }

  Napi::Value Pull(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "not constructed");
    if (info.Length() < 1 || !info[0].IsNumber()) return type_error(env, "nowMs must be a number");
    const double now_ms = info[0].As<Napi::Number>().DoubleValue();
    if (!std::isfinite(now_ms)) return range_error(env, "nowMs must be finite");
    uint8_t frame[960];
    const size_t n = audio_->pull(now_ms, frame);
    if (n == 0) return env.Undefined();
    return Napi::Buffer<uint8_t>::Copy(env, frame, n);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "not constructed");
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
    o.Set("currentDelayMs", s.current_delay_ms);
    o.Set("targetDelayMs", s.target_delay_ms);
    o.Set("jitterMs", s.jitter_ms);
    o.Set("meanAddedDelayMs", s.mean_added_delay_ms);
    return o;
  }

  Napi::Value FrameBytes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "not constructed");
    return Napi::Number::New(env, double(audio_->frame_bytes()));
  }

  std::unique_ptr<grok::media::InboundAudio> audio_;
};

}  // namespace

void InitInbound(Napi::Env env, Napi::Object exports) { exports.Set("InboundAudio", InboundAudioWrap::Define(env)); }

}  // namespace grok::bindings

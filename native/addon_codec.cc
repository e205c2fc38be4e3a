// Binds G.711, Resampler and OutboundAudio: argument checks, Buffers in and out. All per-sample
// work is in g711.cc, resampler.cc and outbound_audio.cc.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon_args.h"
#include "bindings.h"
#include "g711.h"
#include "outbound_audio.h"
#include "resampler.h"

namespace grok::bindings {
namespace {

using grok::media::ApiFormat;
using grok::media::CallCodec;
using grok::media::OutboundAudio;
using grok::media::Resampler;

// PCM16 bytes as int16 samples: used in place when 2-byte aligned, else copied (a Buffer slice
// may start at an odd address).
const int16_t* samples_of(const Napi::Uint8Array& bytes, std::vector<int16_t>& scratch) {
  const uint8_t* p = bytes.Data();
  const size_t n = bytes.ElementLength() / 2;
  if (reinterpret_cast<uintptr_t>(p) % alignof(int16_t) == 0) return reinterpret_cast<const int16_t*>(p);
  scratch.resize(n);
  if (n > 0) std::memcpy(scratch.data(), p, n * 2);
  return scratch.data();
}

using EncodeFn = void (*)(const int16_t*, size_t, uint8_t*);
using DecodeFn = void (*)(const uint8_t*, size_t, int16_t*);
using TranscodeFn = void (*)(const uint8_t*, size_t, uint8_t*);

template <EncodeFn F>
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array pcm;
  if (!bytes_arg(info, 0, "pcm", pcm)) return env.Undefined();
  if (pcm.ElementLength() % 2 != 0) {
    return range_error(env, "pcm must hold whole 16-bit samples (even byte length), got " +
                                std::to_string(pcm.ElementLength()) + " bytes");
  }
  std::vector<int16_t> scratch;
  const int16_t* in = samples_of(pcm, scratch);
  const size_t n = pcm.ElementLength() / 2;
  auto out = Napi::Buffer<uint8_t>::New(env, n);
  if (n > 0) F(in, n, out.Data());
  return out;
}

template <DecodeFn F>
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array codes;
  if (!bytes_arg(info, 0, "codes", codes)) return env.Undefined();
  const size_t n = codes.ElementLength();
  std::vector<int16_t> pcm(n);
  if (n > 0) F(codes.Data(), n, pcm.data());
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(pcm.data()), n * 2);
}

template <TranscodeFn F>
Napi::Value Transcode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array codes;
  if (!bytes_arg(info, 0, "codes", codes)) return env.Undefined();
  const size_t n = codes.ElementLength();
  auto out = Napi::Buffer<uint8_t>::New(env, n);
  if (n > 0) F(codes.Data(), n, out.Data());
  return out;
}

Napi::Value ResamplerSupported(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    return type_error(env, "resamplerSupported: expected (inRate: number, outRate: number)");
  }
  const double a = info[0].As<Napi::Number>().DoubleValue(), b = info[1].As<Napi::Number>().DoubleValue();
  const bool ints = std::isfinite(a) && std::isfinite(b) && a == std::floor(a) && b == std::floor(b) &&
                    std::fabs(a) < 1e9 && std::fabs(b) < 1e9;
  return Napi::Boolean::New(env, ints && Resampler::supported(static_cast<int>(a), static_cast<int>(b)));
}

class ResamplerWrap : public Napi::ObjectWrap<ResamplerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Resampler",
                       {
                           InstanceMethod<&ResamplerWrap::Process>("process"),
                           InstanceMethod<&ResamplerWrap::ProcessFloat>("processFloat"),
                           InstanceMethod<&ResamplerWrap::Reset>("reset"),
                           InstanceAccessor<&ResamplerWrap::DelaySamples>("delaySamples"),
                           InstanceAccessor<&ResamplerWrap::InRate>("inRate"),
                           InstanceAccessor<&ResamplerWrap::OutRate>("outRate"),
                       });
  }

  explicit ResamplerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ResamplerWrap>(info) {
    int in_rate = 0, out_rate = 0;
    if (!integer_arg(info, 0, "Resampler: inRate", 1, 1000000, in_rate)) return;
    if (!integer_arg(info, 1, "Resampler: outRate", 1, 1000000, out_rate)) return;
    if (!Resampler::supported(in_rate, out_rate)) {
      range_error(info.Env(), "Resampler: unsupported rate pair " + std::to_string(in_rate) + " -> " +
                                  std::to_string(out_rate) +
                                  " Hz (supported: 8000 <-> 16000/24000/48000, 16000 <-> 24000)");
      return;
    }
    resampler_ = std::make_unique<Resampler>(in_rate, out_rate);
  }

 private:
  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!resampler_) return type_error(env, "Resampler: not constructed");
    Napi::Uint8Array pcm;
    if (!bytes_arg(info, 0, "Resampler.process: pcm", pcm)) return env.Undefined();
    if (pcm.ElementLength() % 2 != 0) {
      return range_error(env,
                         "Resampler.process: pcm must hold whole 16-bit samples (even byte length), got " +
                             std::to_string(pcm.ElementLength()) + " bytes");
    }
    if (!use_stream(env, Stream::kInt16)) return env.Undefined();
    const size_t n = pcm.ElementLength() / 2;
    const int16_t* in = samples_of(pcm, scratch_);
    out_.resize(resampler_->max_output(n));
    const size_t got = resampler_->process(in, n, out_.data());
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(out_.data()), got * 2);
  }

  // Float32Array in (any scale), Float32Array out: the filter without int16 rounding.
  Napi::Value ProcessFloat(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!resampler_) return type_error(env, "Resampler: not constructed");
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      return type_error(env, "Resampler.processFloat: samples must be a Float32Array");
    }
    if (!use_stream(env, Stream::kFloat)) return env.Undefined();
    auto samples = info[0].As<Napi::Float32Array>();  // element-aligned by construction
    const size_t n = samples.ElementLength();
    fout_.resize(resampler_->max_output(n));
    const size_t got = resampler_->process_float(samples.Data(), n, fout_.data());
    auto out = Napi::Float32Array::New(env, got);
    if (got > 0) std::memcpy(out.Data(), fout_.data(), got * sizeof(float));
    return out;
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    if (!resampler_) return type_error(info.Env(), "Resampler: not constructed");
    resampler_->reset();
    stream_ = Stream::kNone;
    return info.Env().Undefined();
  }

  Napi::Value DelaySamples(const Napi::CallbackInfo& info) {
    if (!resampler_) return type_error(info.Env(), "Resampler: not constructed");
    return Napi::Number::New(info.Env(), resampler_->delay_samples());
  }
  Napi::Value InRate(const Napi::CallbackInfo& info) {
    if (!resampler_) return type_error(info.Env(), "Resampler: not constructed");
    return Napi::Number::New(info.Env(), resampler_->in_rate());
  }
  Napi::Value OutRate(const Napi::CallbackInfo& info) {
    if (!resampler_) return type_error(info.Env(), "Resampler: not constructed");
    return Napi::Number::New(info.Env(), resampler_->out_rate());
  }

  // One stream is int16 or float until reset() (Resampler::process_float's precondition).
  enum class Stream { kNone, kInt16, kFloat };
  bool use_stream(Napi::Env env, Stream kind) {
    if (stream_ != Stream::kNone && stream_ != kind) {
      Napi::Error::New(env,
                       "Resampler: process() and processFloat() cannot share a stream; call reset() first")
          .ThrowAsJavaScriptException();
      return false;
    }
    stream_ = kind;
    return true;
  }

  std::unique_ptr<Resampler> resampler_;
  std::vector<int16_t> scratch_;
  std::vector<int16_t> out_;
  std::vector<float> fout_;
  Stream stream_ = Stream::kNone;
};

class OutboundAudioWrap : public Napi::ObjectWrap<OutboundAudioWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "OutboundAudio",
                       {
                           InstanceMethod<&OutboundAudioWrap::Push>("push"),
                           InstanceMethod<&OutboundAudioWrap::Pull>("pull"),
                           InstanceMethod<&OutboundAudioWrap::Flush>("flush"),
                           InstanceMethod<&OutboundAudioWrap::Clear>("clear"),
                           InstanceMethod<&OutboundAudioWrap::Stats>("stats"),
                           InstanceAccessor<&OutboundAudioWrap::QueuedMs>("queuedMs"),
                       });
  }

  explicit OutboundAudioWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OutboundAudioWrap>(info) {
    ApiFormat format = ApiFormat::Pcmu;
    CallCodec codec = CallCodec::Pcmu;
    int max_queue_ms = 0;
    if (!api_format_arg(info, 0, "OutboundAudio: apiFormat", format)) return;
    if (!call_codec_arg(info, 1, "OutboundAudio: callCodec", codec)) return;
    if (!integer_arg(info, 2, "OutboundAudio: maxQueueMs", 20, OutboundAudio::kMaxQueueMsLimit, max_queue_ms))
      return;
    audio_ = std::make_unique<OutboundAudio>(format, codec, max_queue_ms);
  }

 private:
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "OutboundAudio: not constructed");
    Napi::Uint8Array audio;
    if (!bytes_arg(info, 0, "OutboundAudio.push: audio", audio)) return env.Undefined();
    audio_->push(audio.Data(), audio.ElementLength());
    return env.Undefined();
  }

  Napi::Value Pull(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "OutboundAudio: not constructed");
    uint8_t frame[OutboundAudio::kFrameBytes];
    if (!audio_->pull(frame)) return env.Undefined();
    return Napi::Buffer<uint8_t>::Copy(env, frame, sizeof frame);
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (!audio_) return type_error(info.Env(), "OutboundAudio: not constructed");
    audio_->flush();
    return info.Env().Undefined();
  }

  Napi::Value Clear(const Napi::CallbackInfo& info) {
    if (!audio_) return type_error(info.Env(), "OutboundAudio: not constructed");
    return Napi::Number::New(info.Env(), audio_->clear());
  }

  Napi::Value QueuedMs(const Napi::CallbackInfo& info) {
    if (!audio_) return type_error(info.Env(), "OutboundAudio: not constructed");
    return Napi::Number::New(info.Env(), audio_->queued_ms());
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!audio_) return type_error(env, "OutboundAudio: not constructed");
    const auto& s = audio_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("pushedMs", s.pushed_ms);
    o.Set("paddedMs", s.padded_ms);
    o.Set("playedMs", s.played_ms);
    o.Set("droppedMs", s.dropped_ms);
    o.Set("overflowDroppedMs", s.overflow_dropped_ms);
    o.Set("underruns", static_cast<double>(s.underruns));
    return o;
  }

  std::unique_ptr<OutboundAudio> audio_;
};

}  // namespace

void InitCodec(Napi::Env env, Napi::Object exports) {
  exports.Set("ulawEncode", Napi::Function::New<Encode<grok::media::ulaw_encode>>(env, "ulawEncode"));
  exports.Set("alawEncode", Napi::Function::New<Encode<grok::media::alaw_encode>>(env, "alawEncode"));
  exports.Set("ulawDecode", Napi::Function::New<Decode<grok::media::ulaw_decode>>(env, "ulawDecode"));
  exports.Set("alawDecode", Napi::Function::New<Decode<grok::media::alaw_decode>>(env, "alawDecode"));
  exports.Set("alawToUlaw", Napi::Function::New<Transcode<grok::media::alaw_to_ulaw>>(env, "alawToUlaw"));
  exports.Set("ulawToAlaw", Napi::Function::New<Transcode<grok::media::ulaw_to_alaw>>(env, "ulawToAlaw"));
  exports.Set("resamplerSupported", Napi::Function::New<ResamplerSupported>(env, "resamplerSupported"));
  exports.Set("Resampler", ResamplerWrap::Define(env));
  exports.Set("OutboundAudio", OutboundAudioWrap::Define(env));
}

}  // namespace grok::bindings

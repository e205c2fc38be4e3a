#include "addon_args.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace grok::bindings {
namespace {

// "'a', 'b' or 'c'" from a name table of audio_format.h.
template <typename E, size_t N>
std::string name_list(const media::FormatName<E> (&names)[N]) {
  std::string s;
  for (size_t k = 0; k < N; ++k) {
    if (k > 0) s += k + 1 == N ? " or " : ", ";
    s += "'";
    s += names[k].name;
    s += "'";
  }
  return s;
}

template <typename E, size_t N>
bool format_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what,
                const media::FormatName<E> (&names)[N], E& out) {
  if (i >= info.Length() || !info[i].IsString()) {
    type_error(info.Env(), what + " must be a string: " + name_list(names));
    return false;
  }
  const std::string name = info[i].As<Napi::String>().Utf8Value();
  if (!media::parse_format(names, name, out)) {
    range_error(info.Env(), what + " must be " + name_list(names) + ", got '" + name + "'");
    return false;
  }
  return true;
}

}  // namespace

Napi::Value type_error(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value range_error(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  if (std::floor(v) == v && std::fabs(v) < 1e21) {  // integers in full, as JavaScript does
    std::snprintf(buf, sizeof buf, "%.0f", v == 0 ? 0.0 : v);
    return buf;
  }
  // The shortest %g text that reads back as v (at most 17 digits).
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool bytes_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, Napi::Uint8Array& out) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    type_error(info.Env(), what + " must be a Buffer or Uint8Array");
    return false;
  }
  out = info[i].As<Napi::Uint8Array>();
  return true;
}

bool number_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, double& out) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    type_error(info.Env(), what + " must be a number");
    return false;
  }
  out = info[i].As<Napi::Number>().DoubleValue();
  return true;
}

bool finite_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, double& out) {
  double v = 0;
  if (!number_arg(info, i, what, v)) return false;
  if (!std::isfinite(v)) {
    range_error(info.Env(), what + " must be finite");
    return false;
  }
  out = v;
  return true;
}

bool integer_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, double lo, double hi,
                 double& out) {
  double v = 0;
  if (!number_arg(info, i, what, v)) return false;
  if (!std::isfinite(v) || std::floor(v) != v || v < lo || v > hi) {
    range_error(info.Env(), what + " must be an integer in [" + number_text(lo) + ", " + number_text(hi) +
                                "], got " + number_text(v));
    return false;
  }
  out = v;
  return true;
}

bool integer_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, int lo, int hi,
                 int& out) {
  double v = 0;
  if (!integer_arg(info, i, what, double(lo), double(hi), v)) return false;
  out = static_cast<int>(v);
  return true;
}

bool call_codec_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what,
                    media::CallCodec& out) {
  return format_arg(info, i, what, media::kCallCodecNames, out);
}

bool api_format_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what,
                    media::ApiFormat& out) {
  return format_arg(info, i, what, media::kApiFormatNames, out);
}

}  // namespace grok::bindings

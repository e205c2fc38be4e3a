// Argument checks shared by the addon_*.cc binding files. Each *_arg helper reads info[i] and
// either stores its value and returns true, or throws a JS exception and returns false: a TypeError
// when the argument has the wrong type (or is missing), a RangeError when it has the right type
// but a value outside what the core accepts. `what` names the argument in the message, prefixed
// with its binding ("InboundAudio: seq"), e.g. "InboundAudio: seq must be an integer in
// [0, 65535], got 1.5".
#pragma once
#include <napi.h>

#include <cstddef>
#include <string>

#include "audio_format.h"

namespace grok::bindings {

// Throw, then return undefined (for `return type_error(env, "...");`).
Napi::Value type_error(Napi::Env env, const std::string& msg);
Napi::Value range_error(Napi::Env env, const std::string& msg);

// A number as JavaScript prints it: 1.5, 65536, NaN, -Infinity.
std::string number_text(double v);

// A Uint8Array, which includes Buffer (the view: no copy).
bool bytes_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, Napi::Uint8Array& out);
// Any number, NaN and infinities included.
bool number_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, double& out);
// A finite number.
bool finite_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, double& out);
// An integer in [lo, hi] (bounds within +-2^53; for the int overload, within int).
bool integer_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, double lo, double hi,
                 double& out);
bool integer_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, int lo, int hi, int& out);
// One of the names in audio_format.h: 'PCMU' | 'PCMA', and 'pcmu' | 'pcma' | 'pcm@16000' | 'pcm@24000'.
bool call_codec_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, media::CallCodec& out);
bool api_format_arg(const Napi::CallbackInfo& info, size_t i, const std::string& what, media::ApiFormat& out);

}  // namespace grok::bindings

// The only file that knows about Node: binds the media core's classes and functions.
// Everything per-sample lives in the concept files (g711, resampler, jitter_buffer, plc).
#include <napi.h>

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

NODE_API_MODULE(grok_sip_media, Init)

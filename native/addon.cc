// The module entry point: registers the bindings of each concept. Everything per-sample lives
// in the concept files (g711, resampler, jitter_buffer, plc, inbound_audio, outbound_audio, srtp).
#include <napi.h>

#include "bindings.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  grok::bindings::InitCodec(env, exports);
  grok::bindings::InitInbound(env, exports);
  grok::bindings::InitSrtp(env, exports);
  return exports;
}

NODE_API_MODULE(grok_sip_media, Init)

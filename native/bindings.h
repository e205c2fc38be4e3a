// Binding registration, one function per binding file. addon.cc calls them all; each
// addon_*.cc file only binds (argument checks with the helpers of addon_args.h, Buffers in and
// out) and holds no DSP.
#pragma once
#include <napi.h>

namespace grok::bindings {
// addon_codec.cc: G.711 functions, Resampler, OutboundAudio (agent -> caller playout).
void InitCodec(Napi::Env env, Napi::Object exports);
// addon_inbound.cc: InboundAudio (caller RTP -> jitter buffer + PLC -> 20 ms frames).
void InitInbound(Napi::Env env, Napi::Object exports);
// addon_srtp.cc: SrtpContext (RFC 3711 protect / unprotect, one call per packet).
void InitSrtp(Napi::Env env, Napi::Object exports);
}  // namespace grok::bindings

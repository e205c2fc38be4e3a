// Binds G.711, Resampler and OutboundAudio. (stub: filled in by the codec work)
#include "bindings.h"

namespace grok::bindings {
void InitCodec(Napi::Env, Napi::Object) {}
}  // namespace grok::bindings

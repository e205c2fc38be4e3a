// Binds InboundAudio. (stub: filled in by the jitter-buffer work)
#include "bindings.h"

namespace grok::bindings {
void InitInbound(Napi::Env, Napi::Object) {}
}  // namespace grok::bindings

// Native memory per call: every heap byte the media core allocates for one call's objects (counted
// by replacing global operator new), plus the objects' own sizes, for the call defaults (jitter
// 20-200 ms, outbound cap 120 s) and each API format. The outbound ring starts at 2 s and grows
// only while an answer outruns playout, so both its idle size and its size with 10 s queued show.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "inbound_audio.h"
#include "outbound_audio.h"

namespace {
size_t g_live = 0;
constexpr size_t kHeader = 16;  // keeps the returned pointer 16-byte aligned
}  // namespace

void* operator new(size_t n) {
  auto* p = static_cast<char*>(std::malloc(n + kHeader));
  if (p == nullptr) throw std::bad_alloc();
  *reinterpret_cast<size_t*>(p) = n;
  g_live += n;
  return p + kHeader;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  char* b = static_cast<char*>(p) - kHeader;
  g_live -= *reinterpret_cast<size_t*>(b);
  std::free(b);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

using grok::media::ApiFormat;
using grok::media::CallCodec;
using grok::media::InboundAudio;
using grok::media::OutboundAudio;

int main() {
  const char* names[] = {"pcmu", "pcma", "pcm@16000", "pcm@24000"};
  const ApiFormat formats[] = {ApiFormat::Pcmu, ApiFormat::Pcma, ApiFormat::Pcm16k, ApiFormat::Pcm24k};
  std::printf("native bytes per call, PCMU call leg (jitter 20-200 ms, outbound cap 120 s)\n\n");
  std::printf("%-10s | %-9s | %-9s | %-13s | %-9s | %-16s\n", "API", "inbound", "outbound", "outbound 10 s",
              "call", "call, 10 s queued");
  for (int i = 0; i < 4; ++i) {
    size_t before = g_live;
    auto* in = new InboundAudio(CallCodec::Pcmu, formats[i], {20, 200});
    const size_t inbound = g_live - before;
    before = g_live;
    auto* out = new OutboundAudio(formats[i], CallCodec::Pcmu, 120000);
    const size_t outbound = g_live - before;
    // 10 s of agent audio arriving faster than it plays (one answer burst), 20 ms per push.
    const size_t bytes_per_20ms =
        grok::media::is_pcm(formats[i]) ? size_t(grok::media::sample_rate(formats[i])) / 25 : 160;
    std::vector<uint8_t> delta(bytes_per_20ms);
    size_t peak = outbound;
    const size_t scratch = g_live;
    for (int k = 0; k < 500; ++k) {
      out->push(delta.data(), delta.size());
      peak = std::max(peak, outbound + g_live - scratch);
    }
    std::printf("%-10s | %9zu | %9zu | %13zu | %9zu | %16zu\n", names[i], inbound, outbound, peak,
                inbound + outbound, inbound + peak);
    delete out;
    delete in;
  }
  std::printf("\n(the object sizes are included: InboundAudio holds its JitterBuffer and Plc, %zu bytes)\n",
              sizeof(InboundAudio));
  return 0;
}

// libFuzzer target: the G.711 buffer functions (native/g711.h) on input bytes as codes (decode,
// A-law <-> mu-law) and as 16-bit samples (encode), in pieces of any length, each in and out buffer
// exactly its size (ASan sees any overrun).
// Invariants (from the header): each buffer function agrees with its scalar function; a sample x and
// -1 - x give mirror codes (differing in the sign bit only); 0 encodes to the silence codes; codes
// decode to a reconstruction value that encodes back to a code decoding to the same value (G.191).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_check.h"
#include "g711.h"

namespace {

namespace g711 = grok::media;

void codes(const uint8_t* in, size_t n) {
  std::unique_ptr<int16_t[]> lin(new int16_t[n]);
  std::unique_ptr<uint8_t[]> out(new uint8_t[n]);
  g711::ulaw_decode(in, n, lin.get());
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(lin[i] == g711::ulaw_to_linear(in[i]));
    FUZZ_CHECK(g711::ulaw_to_linear(g711::linear_to_ulaw(lin[i])) == lin[i]);
  }
  g711::alaw_decode(in, n, lin.get());
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(lin[i] == g711::alaw_to_linear(in[i]));
    FUZZ_CHECK(g711::alaw_to_linear(g711::linear_to_alaw(lin[i])) == lin[i]);
  }
  g711::alaw_to_ulaw(in, n, out.get());
  for (size_t i = 0; i < n; ++i) FUZZ_CHECK(out[i] == g711::alaw_to_ulaw(in[i]));
  g711::ulaw_to_alaw(in, n, out.get());
  for (size_t i = 0; i < n; ++i) FUZZ_CHECK(out[i] == g711::ulaw_to_alaw(in[i]));
}

void samples(const uint8_t* bytes, size_t n) {
  std::unique_ptr<int16_t[]> pcm(new int16_t[n]);
  std::memcpy(pcm.get(), bytes, n * sizeof(int16_t));  // host order, as the bindings pass Buffers
  std::unique_ptr<uint8_t[]> out(new uint8_t[n]);
  g711::ulaw_encode(pcm.get(), n, out.get());
  for (size_t i = 0; i < n; ++i) {
    const int16_t x = pcm[i];
    FUZZ_CHECK(out[i] == g711::linear_to_ulaw(x));
    FUZZ_CHECK((out[i] ^ 0x80) == g711::linear_to_ulaw(int16_t(-1 - x)));
  }
  g711::alaw_encode(pcm.get(), n, out.get());
  for (size_t i = 0; i < n; ++i) {
    const int16_t x = pcm[i];
    FUZZ_CHECK(out[i] == g711::linear_to_alaw(x));
    FUZZ_CHECK((out[i] ^ 0x80) == g711::linear_to_alaw(int16_t(-1 - x)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool zero_ok = g711::linear_to_ulaw(0) == g711::kUlawSilence &&
                              g711::linear_to_alaw(0) == g711::kAlawSilence &&
                              g711::linear_to_ulaw(-1) == 0x7F && g711::linear_to_alaw(-1) == 0x55;
  FUZZ_CHECK(zero_ok);
  FuzzedDataProvider in(data, size);
  while (in.remaining_bytes() > 0) {
    const bool as_samples = in.ConsumeBool();
    const size_t len = in.ConsumeIntegralInRange<size_t>(0, 4096);
    const std::vector<uint8_t> piece = in.ConsumeBytes<uint8_t>(as_samples ? 2 * len : len);
    std::unique_ptr<uint8_t[]> exact(new uint8_t[piece.size()]);  // no spare capacity past the end
    if (!piece.empty()) std::memcpy(exact.get(), piece.data(), piece.size());
    if (as_samples) {
      samples(exact.get(), piece.size() / 2);
    } else {
      codes(exact.get(), piece.size());
    }
  }
  return 0;
}

// G.711 companding. Encoders run branch-free on whole buffers so -O3 vectorises them (SSE2):
// the segment number and the 4 mantissa bits of a positive integer are read from the exponent
// and top mantissa bits of its exact float conversion, instead of a leading-zero search.
// Decoders and transcoders are 256-entry tables built at compile time.
#include "g711.h"

#include <array>
#include <cstring>

namespace grok::media {
namespace {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// G.191 STL ulaw_compress: magnitude on the 14-bit scale plus bias 33, clipped to 0x1FFF; the
// segment is floor(log2(biased)) - 5 and the step inside it is 2^(segment + 1).
inline uint8_t ulaw_code(int32_t x) {
  const int32_t neg = x >> 31;                 // -1 for negative samples, 0 otherwise
  int32_t biased = ((x ^ neg) >> 2) + 33;      // one's-complement magnitude, 33..8224
  biased = biased > 0x1FFF ? 0x1FFF : biased;  // 33..8191
  const uint32_t bits = float_bits(static_cast<float>(biased));
  const uint32_t exponent = (bits >> 23) - 127;  // 5..12
  const uint32_t mantissa = (bits >> 19) & 0x0F;
  const uint32_t code = ((exponent - 5) << 4) | mantissa | (static_cast<uint32_t>(neg) & 0x80);
  return static_cast<uint8_t>(~code);
}

// G.191 STL alaw_compress: 11-bit magnitude (x >> 4); segment 0 is the linear part below 16,
// segment s >= 1 covers [16 << (s-1), 16 << s) in steps of 2^(s-1). Below 16 the value is
// lifted by 16 so the float trick sees segment 1 with the same mantissa, then lowered back.
inline uint8_t alaw_code(int32_t x) {
  const int32_t neg = x >> 31;
  const int32_t mag = (x ^ neg) >> 4;  // 0..2047
  const int32_t low = mag < 16 ? 1 : 0;
  const uint32_t bits = float_bits(static_cast<float>(mag + (low << 4)));
  const uint32_t segment = ((bits >> 23) - 127 - 3) - static_cast<uint32_t>(low);  // 0..7
  const uint32_t mantissa = (bits >> 19) & 0x0F;
  const uint32_t code = (segment << 4) | mantissa | (~static_cast<uint32_t>(neg) & 0x80);
  return static_cast<uint8_t>(code ^ 0x55);
}

// G.191 STL ulaw_expand: the reconstruction value is the middle of the quantisation interval.
constexpr int16_t ulaw_value(uint8_t code) {
  const int inverted = ~code & 0xFF;
  const int exponent = (inverted >> 4) & 0x07;
  const int mantissa = inverted & 0x0F;
  const int step = 4 << (exponent + 1);
  const int magnitude = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
  return static_cast<int16_t>(code & 0x80 ? magnitude : -magnitude);
}

// G.191 STL alaw_expand.
constexpr int16_t alaw_value(uint8_t code) {
  const int bits = (code ^ 0x55) & 0x7F;
  const int exponent = bits >> 4;
  int mantissa = bits & 0x0F;
  if (exponent > 0) mantissa += 16;
  mantissa = (mantissa << 4) + 8;
  if (exponent > 1) mantissa <<= (exponent - 1);
  return static_cast<int16_t>(code & 0x80 ? mantissa : -mantissa);
}

template <typename F>
constexpr std::array<int16_t, 256> decode_table(F value) {
  std::array<int16_t, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = value(static_cast<uint8_t>(c));
  return table;
}

constexpr auto kUlawTable = decode_table(ulaw_value);
constexpr auto kAlawTable = decode_table(alaw_value);

// Transcoding tables: decode with one law, re-encode the reconstruction value with the other
// (computed once at load). G.711 Tables 3 and 4 are hand-drawn code-to-code tables in the same
// spirit; decode->encode is the plain nearest-interval mapping. 16 codes each way do not survive an
// A -> mu -> A or mu -> A -> mu round trip (test/media/g711.test.ts counts them), and compared with
// the widely copied Sun g711.c tables ("copy from CCITT G.711") 34 A->mu and 44 mu->A entries
// differ, each by one quantisation step (plus the sign of mu-law's negative zero). One step of
// G.711 is within its own quantisation error.
struct TranscodeTables {
  std::array<uint8_t, 256> a2u{};
  std::array<uint8_t, 256> u2a{};
  TranscodeTables() {
    for (int c = 0; c < 256; ++c) {
      a2u[c] = ulaw_code(kAlawTable[c]);
      u2a[c] = alaw_code(kUlawTable[c]);
    }
  }
};
const TranscodeTables kTranscode;

}  // namespace

uint8_t linear_to_ulaw(int16_t pcm) { return ulaw_code(pcm); }
int16_t ulaw_to_linear(uint8_t code) { return kUlawTable[code]; }
uint8_t linear_to_alaw(int16_t pcm) { return alaw_code(pcm); }
int16_t alaw_to_linear(uint8_t code) { return kAlawTable[code]; }
uint8_t alaw_to_ulaw(uint8_t code) { return kTranscode.a2u[code]; }
uint8_t ulaw_to_alaw(uint8_t code) { return kTranscode.u2a[code]; }

void ulaw_encode(const int16_t* in, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = ulaw_code(in[i]);
}
void alaw_encode(const int16_t* in, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = alaw_code(in[i]);
}
void ulaw_decode(const uint8_t* in, size_t n, int16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = kUlawTable[in[i]];
}
void alaw_decode(const uint8_t* in, size_t n, int16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = kAlawTable[in[i]];
}
void alaw_to_ulaw(const uint8_t* in, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = kTranscode.a2u[in[i]];
}
void ulaw_to_alaw(const uint8_t* in, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = kTranscode.u2a[in[i]];
}

}  // namespace grok::media

// ITU-T G.711 companding, bit-exact with the ITU-T G.191 STL reference (g711.c): a negative
// 16-bit sample x is quantised by the magnitude ~x (one's complement), so x and -1-x map to
// mirror codes and 0 / -1 give 0xFF / 0x7F (mu-law) and 0xD5 / 0x55 (A-law).
// Linear side: 16-bit left-justified PCM (14-bit mu-law / 13-bit A-law resolution).
#pragma once
#include <cstddef>
#include <cstdint>

namespace grok::media {
uint8_t linear_to_ulaw(int16_t pcm);
int16_t ulaw_to_linear(uint8_t code);
uint8_t linear_to_alaw(int16_t pcm);
int16_t alaw_to_linear(uint8_t code);

void ulaw_encode(const int16_t* in, size_t n, uint8_t* out);
void ulaw_decode(const uint8_t* in, size_t n, int16_t* out);
void alaw_encode(const int16_t* in, size_t n, uint8_t* out);
void alaw_decode(const uint8_t* in, size_t n, int16_t* out);

// Direct transcoding through 256-entry tables (see g711.cc for how they relate to G.711 Tables 3/4).
void alaw_to_ulaw(const uint8_t* in, size_t n, uint8_t* out);
void ulaw_to_alaw(const uint8_t* in, size_t n, uint8_t* out);
uint8_t alaw_to_ulaw(uint8_t code);
uint8_t ulaw_to_alaw(uint8_t code);

// Silence codes (the encoding of linear 0).
constexpr uint8_t kUlawSilence = 0xFF;
constexpr uint8_t kAlawSilence = 0xD5;
}  // namespace grok::media

// The two audio formats of a call, shared by InboundAudio, OutboundAudio and the bindings: the
// call leg's RTP codec and the realtime API's format (the same in both directions). The names are
// the strings the bindings take (src/media/native-audio-format.ts: NativeFormatName, and CallCodec);
// each has one parser here, and the error messages list the names from the same tables.
#pragma once
#include <cstddef>
#include <string_view>

namespace grok::media {

// The call leg's payload: G.711 at 8 kHz.
enum class CallCodec { Pcmu, Pcma };
// The realtime API's audio: G.711 at 8 kHz or PCM16 little-endian at 16 / 24 kHz.
enum class ApiFormat { Pcmu, Pcma, Pcm16k, Pcm24k };

constexpr bool is_pcm(ApiFormat f) { return f == ApiFormat::Pcm16k || f == ApiFormat::Pcm24k; }

constexpr int sample_rate(ApiFormat f) {
  return f == ApiFormat::Pcm16k ? 16000 : f == ApiFormat::Pcm24k ? 24000 : 8000;
}

// The G.711 law of a G.711 API format (precondition: !is_pcm(f)).
constexpr CallCodec g711_law(ApiFormat f) { return f == ApiFormat::Pcma ? CallCodec::Pcma : CallCodec::Pcmu; }

template <typename E>
struct FormatName {
  std::string_view name;
  E value;
};

inline constexpr FormatName<CallCodec> kCallCodecNames[] = {
    {"PCMU", CallCodec::Pcmu},
    {"PCMA", CallCodec::Pcma},
};
inline constexpr FormatName<ApiFormat> kApiFormatNames[] = {
    {"pcmu", ApiFormat::Pcmu},
    {"pcma", ApiFormat::Pcma},
    {"pcm@16000", ApiFormat::Pcm16k},
    {"pcm@24000", ApiFormat::Pcm24k},
};

// Exact, case-sensitive match of one of the names; false (out untouched) for anything else.
template <typename E, size_t N>
constexpr bool parse_format(const FormatName<E> (&names)[N], std::string_view name, E& out) {
  for (const auto& n : names) {
    if (n.name == name) {
      out = n.value;
      return true;
    }
  }
  return false;
}

inline bool parse_call_codec(std::string_view name, CallCodec& out) {
  return parse_format(kCallCodecNames, name, out);
}
inline bool parse_api_format(std::string_view name, ApiFormat& out) {
  return parse_format(kApiFormatNames, name, out);
}

}  // namespace grok::media

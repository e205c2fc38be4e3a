// libFuzzer target: SrtpContext (native/srtp.h) on network bytes. A sender and a receiver share one
// key (suite and MKI chosen by the input); the input is a script of steps:
//   0: random bytes to unprotect_rtp, 1: to unprotect_rtcp (each buffer exactly its size: ASan sees
//      any read past it);
//   2: an RTP packet of the input's header fields and payload protected by the sender, then
//      unprotected by the receiver; 3: the same for RTCP;
//   4: the last protected packet with one bit flipped, to the receiver.
// Invariants: a refused packet is left byte for byte as it came; a packet the sender protected is
// accepted by the receiver and comes back as the plain packet; a flipped bit is never accepted.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_check.h"
#include "srtp.h"

namespace {

using grok::media::SrtpContext;
using grok::media::SrtpKey;
using grok::media::SrtpStatus;
using grok::media::SrtpSuite;

// Unprotects `bytes` in a buffer of exactly their size; checks a refusal changed nothing.
SrtpStatus unprotect(SrtpContext& ctx, bool rtcp, const std::vector<uint8_t>& bytes,
                     std::vector<uint8_t>& out) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes.size() + 1]);  // +1: new[0] is still a valid pointer
  if (!bytes.empty()) std::memcpy(buf.get(), bytes.data(), bytes.size());
  size_t n = 0;
  const SrtpStatus status =
      rtcp ? ctx.unprotect_rtcp(buf.get(), bytes.size(), n) : ctx.unprotect_rtp(buf.get(), bytes.size(), n);
  if (status != SrtpStatus::kOk) {
    FUZZ_CHECK(bytes.empty() || std::memcmp(buf.get(), bytes.data(), bytes.size()) == 0);
  } else {
    FUZZ_CHECK(n == bytes.size() - (rtcp ? ctx.rtcp_trailer_bytes() : ctx.rtp_trailer_bytes()));
    out.assign(buf.get(), buf.get() + n);
  }
  return status;
}

std::vector<uint8_t> rtp_packet(FuzzedDataProvider& in) {
  const int cc = in.ConsumeIntegralInRange(0, 15);
  const bool ext = in.ConsumeBool();
  const int ext_words = ext ? in.ConsumeIntegralInRange(0, 8) : 0;
  std::vector<uint8_t> p(12 + 4 * cc + (ext ? 4 + 4 * ext_words : 0));
  p[0] = static_cast<uint8_t>(0x80 | (ext ? 0x10 : 0) | cc);
  p[1] = in.ConsumeIntegral<uint8_t>();
  const uint16_t seq = in.ConsumeIntegral<uint16_t>();
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  const uint32_t ssrc = in.ConsumeIntegralInRange<uint32_t>(0, 20);  // few sources, so state builds up
  for (int i = 0; i < 4; i++) p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  if (ext) {
    const size_t at = 12 + 4 * cc;
    p[at + 2] = 0;
    p[at + 3] = static_cast<uint8_t>(ext_words);
  }
  const auto payload = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 300));
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

std::vector<uint8_t> rtcp_packet(FuzzedDataProvider& in) {
  std::vector<uint8_t> p(8);
  p[0] = static_cast<uint8_t>(0x80 | in.ConsumeIntegralInRange(0, 31));
  p[1] = in.ConsumeIntegral<uint8_t>();
  const uint32_t ssrc = in.ConsumeIntegralInRange<uint32_t>(0, 20);
  for (int i = 0; i < 4; i++) p[4 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  const auto rest = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 200));
  p.insert(p.end(), rest.begin(), rest.end());
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  SrtpKey key;
  key.suite = in.ConsumeBool() ? SrtpSuite::kAesCm128HmacSha1_32 : SrtpSuite::kAesCm128HmacSha1_80;
  for (auto& b : key.master_key) b = static_cast<uint8_t>(0x11 * (&b - key.master_key));
  for (auto& b : key.master_salt) b = static_cast<uint8_t>(0xa0 + (&b - key.master_salt));
  key.mki.resize(in.ConsumeIntegralInRange(0, 4));
  for (auto& b : key.mki) b = in.ConsumeIntegral<uint8_t>();
  key.lifetime = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(1, 64) : 0;
  auto sender = SrtpContext::create(key);
  auto receiver = SrtpContext::create(key);
  FUZZ_CHECK(sender && receiver);

  std::vector<uint8_t> last;  // the last packet the sender protected
  bool last_rtcp = false;
  std::vector<uint8_t> plain;
  for (int steps = 0; steps < 64 && in.remaining_bytes() > 0; steps++) {
    const int op = in.ConsumeIntegralInRange(0, 4);
    if (op <= 1) {
      const auto bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 400));
      unprotect(*receiver, op == 1, bytes, plain);
    } else if (op <= 3) {
      const bool rtcp = op == 3;
      const std::vector<uint8_t> packet = rtcp ? rtcp_packet(in) : rtp_packet(in);
      const size_t trailer = rtcp ? sender->rtcp_trailer_bytes() : sender->rtp_trailer_bytes();
      std::vector<uint8_t> buf(packet.size() + trailer);
      std::memcpy(buf.data(), packet.data(), packet.size());
      size_t n = 0;
      const SrtpStatus status = rtcp ? sender->protect_rtcp(buf.data(), packet.size(), buf.size(), n)
                                     : sender->protect_rtp(buf.data(), packet.size(), buf.size(), n);
      if (status != SrtpStatus::kOk) continue;  // replayed sequence number, lifetime, too many sources
      FUZZ_CHECK(n == buf.size());
      last = buf;
      last_rtcp = rtcp;
      const SrtpStatus back = unprotect(*receiver, rtcp, buf, plain);
      FUZZ_CHECK(back == SrtpStatus::kOk);
      FUZZ_CHECK(plain == packet);
    } else if (!last.empty()) {
      std::vector<uint8_t> flipped = last;
      const size_t bit = in.ConsumeIntegralInRange<size_t>(0, flipped.size() * 8 - 1);
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      FUZZ_CHECK(unprotect(*receiver, last_rtcp, flipped, plain) != SrtpStatus::kOk);
    }
  }
  return 0;
}

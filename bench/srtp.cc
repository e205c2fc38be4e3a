// SRTP cost per packet, ours (native/srtp.cc on OpenSSL EVP) against libsrtp2 (the reference,
// Debian libsrtp2-dev) on the same packets: protect, then unprotect, of 20 ms G.711 packets (12-byte
// header + 160 bytes) and of 1200-byte payloads, both SDES suites, one core. Each figure is the best
// of >= 5 runs over 50,000 consecutive sequence numbers (the machine may be shared); both sides
// copy the packet into the working buffer first (in place, as a call does), so that memcpy is in
// both. The last column is what a call costs: 50 packets a second each way at 20 ms, so one
// protect and one unprotect per 20 ms, as % of one core. Prints numbers, asserts nothing.
#include <srtp2/srtp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "srtp.h"

using Clock = std::chrono::steady_clock;
using grok::media::SrtpContext;
using grok::media::SrtpKey;
using grok::media::SrtpStatus;
using grok::media::SrtpSuite;

namespace {

constexpr int kPackets = 50000;

template <typename F>
double best_ns_per_packet(F&& run) {
  run();  // warm-up
  double best = 1e30, total = 0;
  for (int iters = 0; iters < 5 || total < 0.5; ++iters) {
    const auto start = Clock::now();
    run();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, s);
    total += s;
  }
  return best * 1e9 / kPackets;
}

std::vector<std::vector<uint8_t>> plain_packets(size_t payload) {
  std::vector<std::vector<uint8_t>> out(kPackets);
  uint32_t seed = 7;
  for (int i = 0; i < kPackets; i++) {
    auto& p = out[i];
    p.resize(12 + payload);
    p[0] = 0x80;
    p[1] = 0;
    const uint16_t seq = static_cast<uint16_t>(60000 + i);  // wraps once: ROC 0 -> 1
    p[2] = static_cast<uint8_t>(seq >> 8);
    p[3] = static_cast<uint8_t>(seq);
    const uint32_t ts = static_cast<uint32_t>(i) * 160;
    for (int b = 0; b < 4; b++) p[4 + b] = static_cast<uint8_t>(ts >> (24 - 8 * b));
    p[8] = 0x12, p[9] = 0x34, p[10] = 0x56, p[11] = 0x78;
    for (size_t b = 12; b < p.size(); b++) p[b] = static_cast<uint8_t>((seed = seed * 1103515245 + 12345) >> 24);
  }
  return out;
}

struct Row {
  double protect_ns, unprotect_ns;
};

Row ours(SrtpSuite suite, const uint8_t key[30], const std::vector<std::vector<uint8_t>>& plain) {
  SrtpKey k;
  k.suite = suite;
  std::memcpy(k.master_key, key, 16);
  std::memcpy(k.master_salt, key + 16, 14);
  std::vector<uint8_t> buf(plain[0].size() + 64);
  std::vector<std::vector<uint8_t>> sealed(kPackets);
  const double protect = best_ns_per_packet([&] {
    auto ctx = SrtpContext::create(k);  // a fresh sender: each run sends the same indexes once
    for (int i = 0; i < kPackets; i++) {
      std::memcpy(buf.data(), plain[i].data(), plain[i].size());
      size_t n = 0;
      if (ctx->protect_rtp(buf.data(), plain[i].size(), buf.size(), n) != SrtpStatus::kOk) std::abort();
      if (sealed[i].empty()) sealed[i].assign(buf.begin(), buf.begin() + static_cast<long>(n));
    }
  });
  const double unprotect = best_ns_per_packet([&] {
    auto ctx = SrtpContext::create(k);
    for (int i = 0; i < kPackets; i++) {
      std::memcpy(buf.data(), sealed[i].data(), sealed[i].size());
      size_t n = 0;
      if (ctx->unprotect_rtp(buf.data(), sealed[i].size(), n) != SrtpStatus::kOk) std::abort();
    }
  });
  return {protect, unprotect};
}

srtp_t libsrtp_session(SrtpSuite suite, const uint8_t key[30], bool inbound) {
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  if (suite == SrtpSuite::kAesCm128HmacSha1_32) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
  } else {
    srtp_crypto_policy_set_rtp_default(&policy.rtp);
  }
  srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
  policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = const_cast<uint8_t*>(key);
  policy.window_size = 64;
  srtp_t session = nullptr;
  if (srtp_create(&session, &policy) != srtp_err_status_ok) std::abort();
  return session;
}

Row libsrtp(SrtpSuite suite, const uint8_t key[30], const std::vector<std::vector<uint8_t>>& plain) {
  std::vector<uint8_t> buf(plain[0].size() + SRTP_MAX_TRAILER_LEN);
  std::vector<std::vector<uint8_t>> sealed(kPackets);
  const double protect = best_ns_per_packet([&] {
    srtp_t s = libsrtp_session(suite, key, false);
    for (int i = 0; i < kPackets; i++) {
      std::memcpy(buf.data(), plain[i].data(), plain[i].size());
      int n = static_cast<int>(plain[i].size());
      if (srtp_protect(s, buf.data(), &n) != srtp_err_status_ok) std::abort();
      if (sealed[i].empty()) sealed[i].assign(buf.begin(), buf.begin() + n);
    }
    srtp_dealloc(s);
  });
  const double unprotect = best_ns_per_packet([&] {
    srtp_t s = libsrtp_session(suite, key, true);
    for (int i = 0; i < kPackets; i++) {
      std::memcpy(buf.data(), sealed[i].data(), sealed[i].size());
      int n = static_cast<int>(sealed[i].size());
      if (srtp_unprotect(s, buf.data(), &n) != srtp_err_status_ok) std::abort();
    }
    srtp_dealloc(s);
  });
  return {protect, unprotect};
}

}  // namespace

int main() {
  if (srtp_init() != srtp_err_status_ok) return 1;
  uint8_t key[30];
  for (int i = 0; i < 30; i++) key[i] = static_cast<uint8_t>(i * 29 + 3);
  std::printf("SRTP ns per packet (best of >= 5 runs x %d packets), ours vs libsrtp %s\n", kPackets,
              srtp_get_version_string());
  std::printf("%-26s %8s | %10s %10s %6s | %10s %10s %6s | %s\n", "suite", "payload", "protect", "libsrtp",
              "ratio", "unprotect", "libsrtp", "ratio", "per call (ours / libsrtp)");
  for (size_t payload : {size_t{160}, size_t{1200}}) {
    const auto plain = plain_packets(payload);
    for (SrtpSuite suite : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32}) {
      const Row a = ours(suite, key, plain);
      const Row b = libsrtp(suite, key, plain);
      // 50 packets/s each way: (protect + unprotect) x 50 per second of call, as % of one core.
      const double call_a = (a.protect_ns + a.unprotect_ns) * 50 / 1e9 * 100;
      const double call_b = (b.protect_ns + b.unprotect_ns) * 50 / 1e9 * 100;
      std::printf("%-26s %8zu | %10.0f %10.0f %5.2fx | %10.0f %10.0f %5.2fx | %.4f %% / %.4f %% of a core\n",
                  suite == SrtpSuite::kAesCm128HmacSha1_80 ? "AES_CM_128_HMAC_SHA1_80" : "AES_CM_128_HMAC_SHA1_32",
                  payload, a.protect_ns, b.protect_ns, b.protect_ns / a.protect_ns, a.unprotect_ns, b.unprotect_ns,
                  b.unprotect_ns / a.unprotect_ns, call_a, call_b);
    }
  }
  std::printf("ratio = libsrtp time / ours (> 1: ours is faster)\n");
  srtp_shutdown();
  return 0;
}

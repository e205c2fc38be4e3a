// RFC 3711 SRTP/SRTCP on OpenSSL EVP. See srtp.h for the packet layouts and what is supported.
#include "srtp.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>

namespace grok::media {

const char* srtp_status_name(SrtpStatus status) {
  switch (status) {
    case SrtpStatus::kOk:
      return "ok";
    case SrtpStatus::kMalformed:
      return "srtp-malformed";
    case SrtpStatus::kNoRoom:
      return "srtp-no-room";
    case SrtpStatus::kAuthFailed:
      return "srtp-auth-failed";
    case SrtpStatus::kReplayed:
      return "srtp-replayed";
    case SrtpStatus::kTooOld:
      return "srtp-too-old";
    case SrtpStatus::kKeyExhausted:
      return "srtp-key-exhausted";
    case SrtpStatus::kBadMki:
      return "srtp-bad-mki";
    case SrtpStatus::kTooManySsrcs:
      return "srtp-too-many-ssrcs";
    case SrtpStatus::kCryptoError:
      return "srtp-crypto-error";
  }
  return "srtp-unknown";
}

namespace {

constexpr uint8_t kLabelRtpEncryption = 0x00, kLabelRtpAuth = 0x01, kLabelRtpSalt = 0x02;
constexpr uint8_t kLabelRtcpEncryption = 0x03, kLabelRtcpAuth = 0x04, kLabelRtcpSalt = 0x05;
constexpr size_t kAuthKeyBytes = 20;  // HMAC-SHA1 key, RFC 3711 §8.2 n_a = 160
constexpr size_t kBlock = 16;
constexpr size_t kBlocksPerChunk = 64;  // keystream made 1 KiB at a time (one 20 ms G.711 packet: 11 blocks)

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t read32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void write32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

EVP_CIPHER_CTX* new_ecb(const uint8_t key[16]) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return nullptr;
  if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), nullptr, key, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

// AES in counter mode (RFC 3711 §4.1.1): block j is E(iv + j), the counter in the low 16 bits, so
// a packet is at most 2^16 blocks (1 MiB). ECB over a run of counter blocks: one EVP call per 1 KiB,
// no per-packet cipher re-initialisation.
bool ctr_xor(EVP_CIPHER_CTX* ecb, const uint8_t iv[16], uint8_t* data, size_t n) {
  if (n > (size_t{1} << 16) * kBlock) return false;
  uint8_t counters[kBlocksPerChunk * kBlock];
  uint8_t stream[kBlocksPerChunk * kBlock];
  uint32_t block = 0;
  const uint32_t base = read16(iv + 14);
  for (size_t done = 0; done < n;) {
    const size_t bytes = n - done < sizeof counters ? n - done : sizeof counters;
    const size_t blocks = (bytes + kBlock - 1) / kBlock;
    for (size_t b = 0; b < blocks; b++, block++) {
      uint8_t* c = counters + b * kBlock;
      std::memcpy(c, iv, 14);
      const uint32_t low = base + block;  // carries past 16 bits only beyond the 2^16-block limit
      c[14] = static_cast<uint8_t>(low >> 8);
      c[15] = static_cast<uint8_t>(low);
    }
    int out = 0;
    if (EVP_EncryptUpdate(ecb, stream, &out, counters, static_cast<int>(blocks * kBlock)) != 1 ||
        out != static_cast<int>(blocks * kBlock)) {
      return false;
    }
    for (size_t i = 0; i < bytes; i++) data[done + i] ^= stream[i];
    done += bytes;
  }
  return true;
}

// True when index `index` may be accepted given the highest one `highest` and the window bits
// (bit k: highest - k seen). RFC 3711 §3.3.2.
SrtpStatus replay_check(bool seen, uint64_t highest, uint64_t window, uint64_t index) {
  if (!seen || index > highest) return SrtpStatus::kOk;
  const uint64_t behind = highest - index;
  if (behind >= static_cast<uint64_t>(SrtpContext::kReplayWindow)) return SrtpStatus::kTooOld;
  return (window >> behind) & 1 ? SrtpStatus::kReplayed : SrtpStatus::kOk;
}

void replay_add(bool& seen, uint64_t& highest, uint64_t& window, uint64_t index) {
  if (!seen) {
    seen = true;
    highest = index;
    window = 1;
  } else if (index > highest) {
    const uint64_t ahead = index - highest;
    window = ahead >= 64 ? 1 : (window << ahead) | 1;
    highest = index;
  } else {
    window |= uint64_t{1} << (highest - index);
  }
}

// Length of the RTP header (fixed part, CSRCs, extension) of a packet of `length` bytes, or 0 when
// it does not fit. RFC 3550 §5.1, §5.3.1.
size_t rtp_header_bytes(const uint8_t* p, size_t length) {
  if (length < 12 || (p[0] >> 6) != 2) return 0;
  size_t header = 12 + 4 * static_cast<size_t>(p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (header + 4 > length) return 0;
    header += 4 + 4 * static_cast<size_t>(read16(p + header + 2));
  }
  return header <= length ? header : 0;
}

}  // namespace

struct SrtpContext::Keys {
  EVP_CIPHER_CTX* aes = nullptr;  // AES-128-ECB under the session encryption key
  EVP_MAC_CTX* mac = nullptr;     // HMAC-SHA1 under the session authentication key
  uint8_t salt[kMasterSaltBytes] = {};
  ~Keys() {
    EVP_CIPHER_CTX_free(aes);
    EVP_MAC_CTX_free(mac);
    OPENSSL_cleanse(salt, sizeof salt);
  }
};

// Per-SSRC state. A context serves one direction, so the same fields mean "highest sent" when it
// protects and "highest accepted" when it unprotects; the replay check guards both (a sender
// never reuses an index: that would reuse keystream).
struct SrtpContext::Stream {
  uint32_t ssrc = 0;
  bool rtp_seen = false;
  uint64_t rtp_highest = 0;  // ROC * 2^16 + s_l
  uint64_t rtp_window = 0;
  bool rtcp_seen = false;
  uint64_t rtcp_highest = 0;
  uint64_t rtcp_window = 0;

  // RFC 3711 §3.3.1: the index of `seq` relative to s_l and ROC; negative when it would belong to
  // ROC - 1 with ROC 0. The first packet starts at ROC 0 (SDES carries no ROC).
  int64_t estimate(uint16_t seq) const {
    if (!rtp_seen) return seq;
    const int64_t roc = static_cast<int64_t>(rtp_highest >> 16);
    const int64_t s_l = static_cast<int64_t>(rtp_highest & 0xffff);
    int64_t v = roc;
    if (s_l < 32768) {
      if (seq - s_l > 32768) v = roc - 1;
    } else if (s_l - 32768 > seq) {
      v = roc + 1;
    }
    return v * 65536 + seq;
  }
};

SrtpContext::~SrtpContext() = default;

bool SrtpContext::keystream(const uint8_t key[16], const uint8_t iv[16], uint8_t* out, size_t n) {
  EVP_CIPHER_CTX* ecb = new_ecb(key);
  if (ecb == nullptr) return false;
  std::memset(out, 0, n);
  const bool ok = ctr_xor(ecb, iv, out, n);
  EVP_CIPHER_CTX_free(ecb);
  return ok;
}

bool SrtpContext::derive(const uint8_t master_key[16], const uint8_t master_salt[14], uint8_t label,
                         uint8_t* out, size_t n) {
  // x = (label || r) XOR master_salt with r = 0: the label lands on byte 7 of the salt (§4.3.1).
  uint8_t iv[kBlock] = {};
  std::memcpy(iv, master_salt, kMasterSaltBytes);
  iv[7] ^= label;
  return keystream(master_key, iv, out, n);
}

std::unique_ptr<SrtpContext> SrtpContext::create(const SrtpKey& key) {
  if (key.mki.size() > kMaxMkiBytes) return nullptr;
  std::unique_ptr<SrtpContext> ctx(new SrtpContext());
  ctx->mki_ = key.mki;
  ctx->rtp_tag_bytes_ = key.suite == SrtpSuite::kAesCm128HmacSha1_32 ? 4 : 10;
  if (key.lifetime != 0) {
    ctx->srtp_limit_ = key.lifetime < kMaxSrtpPackets ? key.lifetime : kMaxSrtpPackets;
    ctx->srtcp_limit_ = key.lifetime < kMaxSrtcpPackets ? key.lifetime : kMaxSrtcpPackets;
  }
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) return nullptr;
  auto make_keys = [&](uint8_t enc_label, uint8_t auth_label, uint8_t salt_label) -> std::unique_ptr<Keys> {
    auto keys = std::make_unique<Keys>();
    uint8_t enc[kMasterKeyBytes], auth[kAuthKeyBytes];
    bool ok = derive(key.master_key, key.master_salt, enc_label, enc, sizeof enc) &&
              derive(key.master_key, key.master_salt, auth_label, auth, sizeof auth) &&
              derive(key.master_key, key.master_salt, salt_label, keys->salt, sizeof keys->salt);
    if (ok) ok = (keys->aes = new_ecb(enc)) != nullptr;
    if (ok) ok = (keys->mac = EVP_MAC_CTX_new(hmac)) != nullptr;
    if (ok) {
      char digest[] = "SHA1";
      const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                   OSSL_PARAM_construct_end()};
      ok = EVP_MAC_init(keys->mac, auth, sizeof auth, params) == 1;
    }
    OPENSSL_cleanse(enc, sizeof enc);
    OPENSSL_cleanse(auth, sizeof auth);
    return ok ? std::move(keys) : nullptr;
  };
  ctx->rtp_keys_ = make_keys(kLabelRtpEncryption, kLabelRtpAuth, kLabelRtpSalt);
  ctx->rtcp_keys_ = make_keys(kLabelRtcpEncryption, kLabelRtcpAuth, kLabelRtcpSalt);
  EVP_MAC_free(hmac);
  if (!ctx->rtp_keys_ || !ctx->rtcp_keys_) return nullptr;
  ctx->streams_.reserve(kMaxSsrcs);
  return ctx;
}

SrtpContext::Stream* SrtpContext::stream_for(uint32_t ssrc) {
  for (Stream& s : streams_) {
    if (s.ssrc == ssrc) return &s;
  }
  return nullptr;
}

// HMAC-SHA1 of data || extra. EVP_MAC_init without a key restarts from the keyed state.
bool SrtpContext::tag(const Keys& keys, const uint8_t* data, size_t n, const uint8_t* extra, size_t extra_n,
                      uint8_t out[20]) {
  size_t out_n = 0;
  return EVP_MAC_init(keys.mac, nullptr, 0, nullptr) == 1 && EVP_MAC_update(keys.mac, data, n) == 1 &&
         (extra_n == 0 || EVP_MAC_update(keys.mac, extra, extra_n) == 1) &&
         EVP_MAC_final(keys.mac, out, &out_n, 20) == 1 && out_n == 20;
}

// IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), RFC 3711 §4.1.1.
bool SrtpContext::xor_keystream(const Keys& keys, uint32_t ssrc, uint64_t index, uint8_t* data, size_t n) {
  uint8_t iv[kBlock] = {};
  std::memcpy(iv, keys.salt, kMasterSaltBytes);
  for (int i = 0; i < 4; i++) iv[4 + i] ^= static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; i++) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  return ctr_xor(keys.aes, iv, data, n);
}

SrtpStatus SrtpContext::protect_rtp(uint8_t* packet, size_t length, size_t capacity, size_t& out_length) {
  const size_t header = rtp_header_bytes(packet, length);
  if (header == 0) return SrtpStatus::kMalformed;
  if (capacity < length || capacity - length < rtp_trailer_bytes()) return SrtpStatus::kNoRoom;
  const uint32_t ssrc = read32(packet + 8);
  Stream* stream = stream_for(ssrc);
  if (stream == nullptr) {
    if (streams_.size() >= kMaxSsrcs) return SrtpStatus::kTooManySsrcs;
    stream = &streams_.emplace_back();
    stream->ssrc = ssrc;
  }
  const int64_t index = stream->estimate(read16(packet + 2));
  if (index < 0) return SrtpStatus::kTooOld;
  if (static_cast<uint64_t>(index) >= kMaxSrtpPackets || srtp_packets_ >= srtp_limit_) {
    return SrtpStatus::kKeyExhausted;
  }
  const SrtpStatus replay = replay_check(stream->rtp_seen, stream->rtp_highest, stream->rtp_window, index);
  if (replay != SrtpStatus::kOk) return replay;
  if (!xor_keystream(*rtp_keys_, ssrc, index, packet + header, length - header))
    return SrtpStatus::kCryptoError;
  uint8_t roc[4], mac[20];
  write32(roc, static_cast<uint32_t>(index >> 16));
  if (!tag(*rtp_keys_, packet, length, roc, sizeof roc, mac)) return SrtpStatus::kCryptoError;
  if (!mki_.empty()) std::memcpy(packet + length, mki_.data(), mki_.size());
  std::memcpy(packet + length + mki_.size(), mac, rtp_tag_bytes_);
  replay_add(stream->rtp_seen, stream->rtp_highest, stream->rtp_window, index);
  srtp_packets_++;
  out_length = length + rtp_trailer_bytes();
  return SrtpStatus::kOk;
}

SrtpStatus SrtpContext::unprotect_rtp(uint8_t* packet, size_t length, size_t& out_length) {
  if (length < 12 + rtp_trailer_bytes()) return SrtpStatus::kMalformed;
  const size_t body = length - rtp_trailer_bytes();
  const size_t header = rtp_header_bytes(packet, body);
  if (header == 0) return SrtpStatus::kMalformed;
  const uint32_t ssrc = read32(packet + 8);
  // A new source gets a slot only once one of its packets is authentic.
  Stream fresh;
  Stream* stream = stream_for(ssrc);
  const bool known = stream != nullptr;
  if (!known) {
    if (streams_.size() >= kMaxSsrcs) return SrtpStatus::kTooManySsrcs;
    fresh.ssrc = ssrc;
    stream = &fresh;
  }
  const int64_t index = stream->estimate(read16(packet + 2));
  if (index < 0) return SrtpStatus::kTooOld;
  if (static_cast<uint64_t>(index) >= kMaxSrtpPackets || srtp_packets_ >= srtp_limit_) {
    return SrtpStatus::kKeyExhausted;
  }
  const SrtpStatus replay = replay_check(stream->rtp_seen, stream->rtp_highest, stream->rtp_window, index);
  if (replay != SrtpStatus::kOk) return replay;
  if (!mki_.empty() && std::memcmp(packet + body, mki_.data(), mki_.size()) != 0) return SrtpStatus::kBadMki;
  uint8_t roc[4], mac[20];
  write32(roc, static_cast<uint32_t>(index >> 16));
  if (!tag(*rtp_keys_, packet, body, roc, sizeof roc, mac)) return SrtpStatus::kCryptoError;
  if (CRYPTO_memcmp(mac, packet + body + mki_.size(), rtp_tag_bytes_) != 0) return SrtpStatus::kAuthFailed;
  if (!xor_keystream(*rtp_keys_, ssrc, index, packet + header, body - header))
    return SrtpStatus::kCryptoError;
  if (!known) stream = &streams_.emplace_back(fresh);
  replay_add(stream->rtp_seen, stream->rtp_highest, stream->rtp_window, index);
  srtp_packets_++;
  out_length = body;
  return SrtpStatus::kOk;
}

SrtpStatus SrtpContext::protect_rtcp(uint8_t* packet, size_t length, size_t capacity, size_t& out_length) {
  if (length < 8 || (packet[0] >> 6) != 2) return SrtpStatus::kMalformed;
  if (capacity < length || capacity - length < rtcp_trailer_bytes()) return SrtpStatus::kNoRoom;
  const uint32_t ssrc = read32(packet + 4);
  Stream* stream = stream_for(ssrc);
  if (stream == nullptr) {
    if (streams_.size() >= kMaxSsrcs) return SrtpStatus::kTooManySsrcs;
    stream = &streams_.emplace_back();
    stream->ssrc = ssrc;
  }
  // The SRTCP index counts from 0 per source and is 31 bits (§3.4): the key ends before it wraps.
  const uint64_t index = stream->rtcp_seen ? stream->rtcp_highest + 1 : 0;
  if (index >= kMaxSrtcpPackets || srtcp_packets_ >= srtcp_limit_) return SrtpStatus::kKeyExhausted;
  if (!xor_keystream(*rtcp_keys_, ssrc, index, packet + 8, length - 8)) return SrtpStatus::kCryptoError;
  write32(packet + length, 0x80000000u | static_cast<uint32_t>(index));  // E = 1: encrypted
  uint8_t mac[20];
  if (!tag(*rtcp_keys_, packet, length + 4, nullptr, 0, mac)) return SrtpStatus::kCryptoError;
  if (!mki_.empty()) std::memcpy(packet + length + 4, mki_.data(), mki_.size());
  std::memcpy(packet + length + 4 + mki_.size(), mac, kRtcpTagBytes);
  replay_add(stream->rtcp_seen, stream->rtcp_highest, stream->rtcp_window, index);
  srtcp_packets_++;
  out_length = length + rtcp_trailer_bytes();
  return SrtpStatus::kOk;
}

SrtpStatus SrtpContext::unprotect_rtcp(uint8_t* packet, size_t length, size_t& out_length) {
  if (length < 8 + rtcp_trailer_bytes() || (packet[0] >> 6) != 2) return SrtpStatus::kMalformed;
  const size_t body = length - rtcp_trailer_bytes();
  const uint32_t word = read32(packet + body);
  const bool encrypted = (word >> 31) != 0;
  const uint64_t index = word & 0x7fffffffu;
  const uint32_t ssrc = read32(packet + 4);
  Stream fresh;
  Stream* stream = stream_for(ssrc);
  const bool known = stream != nullptr;
  if (!known) {
    if (streams_.size() >= kMaxSsrcs) return SrtpStatus::kTooManySsrcs;
    fresh.ssrc = ssrc;
    stream = &fresh;
  }
  if (srtcp_packets_ >= srtcp_limit_) return SrtpStatus::kKeyExhausted;
  const SrtpStatus replay = replay_check(stream->rtcp_seen, stream->rtcp_highest, stream->rtcp_window, index);
  if (replay != SrtpStatus::kOk) return replay;
  if (!mki_.empty() && std::memcmp(packet + body + 4, mki_.data(), mki_.size()) != 0) {
    return SrtpStatus::kBadMki;
  }
  uint8_t mac[20];
  if (!tag(*rtcp_keys_, packet, body + 4, nullptr, 0, mac)) return SrtpStatus::kCryptoError;
  if (CRYPTO_memcmp(mac, packet + body + 4 + mki_.size(), kRtcpTagBytes) != 0) return SrtpStatus::kAuthFailed;
  if (encrypted && !xor_keystream(*rtcp_keys_, ssrc, index, packet + 8, body - 8)) {
    return SrtpStatus::kCryptoError;
  }
  if (!known) stream = &streams_.emplace_back(fresh);
  replay_add(stream->rtcp_seen, stream->rtcp_highest, stream->rtcp_window, index);
  srtcp_packets_++;
  out_length = body;
  return SrtpStatus::kOk;
}

}  // namespace grok::media

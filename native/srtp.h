// SRTP and SRTCP (RFC 3711) for one direction of a call: one master key (from SDES, RFC 4568), its
// session keys, and per-SSRC state (rollover counter, replay window, SRTCP index). The two SDES
// suites of RFC 4568 §6.2: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (32-bit tag on SRTP
// only; SRTCP always carries 80 bits, RFC 4568 §6.2.2). Key derivation rate 0 (§4.3.1: derived once).
//
// Crypto is OpenSSL's EVP (AES-128-ECB for the counter-mode keystream and the key derivation PRF,
// HMAC-SHA1 through EVP_MAC), taken from the OpenSSL that Node ships: the addon links nothing extra.
//
// SRTP packet (RFC 3711 §3.1):          SRTCP packet (RFC 3711 §3.4):
//   +--------------------------+          +-----------------------------+
//   | RTP header (12+4CC+ext)  |          | V P RC PT length SSRC (8 B) |
//   +--------------------------+          +-----------------------------+
//   | payload (encrypted)      |          | rest of compound (encrypted)|
//   +--------------------------+          +-----------------------------+
//   | MKI (optional)           |          | E | SRTCP index (31 bits)   |
//   | auth tag (10 or 4 bytes) |          | MKI (optional)              |
//   +--------------------------+          | auth tag (10 bytes)         |
//                                         +-----------------------------+
// Authenticated: header + payload || ROC (SRTP); everything up to the index, inclusive (SRTCP).
//
// Every call works in place on the caller's buffer. Unprotect changes nothing unless it succeeds
// (the tag is checked before decryption), so a refused packet leaves no state behind.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace grok::media {

enum class SrtpSuite { kAesCm128HmacSha1_80, kAesCm128HmacSha1_32 };

// Negative results are refusals; the names (srtp_status_name) are the drop reasons TS counts.
enum class SrtpStatus : int {
  kOk = 0,
  kMalformed = -1,     // not RTP/RTCP version 2, or shorter than its header + trailer
  kNoRoom = -2,        // protect: the buffer cannot hold the trailer
  kAuthFailed = -3,    // the tag does not match
  kReplayed = -4,      // index already seen (RFC 3711 §3.3.2)
  kTooOld = -5,        // index behind the replay window
  kKeyExhausted = -6,  // the master key's lifetime is used up (RFC 3711 §9.2)
  kBadMki = -7,        // MKI differs from the one the key was signalled with
  kTooManySsrcs = -8,  // more sources than kMaxSsrcs
  kCryptoError = -9,   // OpenSSL failed
};

const char* srtp_status_name(SrtpStatus status);

struct SrtpKey {
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  uint8_t master_key[16] = {};
  uint8_t master_salt[14] = {};
  // SDES lifetime parameter in packets (RFC 4568 §6.1); 0 means the RFC 3711 maximum.
  uint64_t lifetime = 0;
  // MKI value (RFC 4568 §6.1 "MKI:length"); empty when the key was signalled without one.
  std::vector<uint8_t> mki;
};

class SrtpContext {
 public:
  static constexpr size_t kMasterKeyBytes = 16;
  static constexpr size_t kMasterSaltBytes = 14;
  static constexpr size_t kMaxMkiBytes = 128;  // RFC 4568 §9.2: MKI length 1..128
  static constexpr size_t kRtcpTagBytes = 10;
  static constexpr uint64_t kMaxSrtpPackets = 1ULL << 48;  // RFC 3711 §9.2
  static constexpr uint64_t kMaxSrtcpPackets = 1ULL << 31;
  static constexpr int kReplayWindow = 64;  // RFC 3711 §3.3.2 minimum
  static constexpr size_t kMaxSsrcs = 16;   // sources per direction; a call has one or two

  // nullptr when the key is unusable (MKI too long) or OpenSSL refuses the algorithms.
  static std::unique_ptr<SrtpContext> create(const SrtpKey& key);
  ~SrtpContext();
  SrtpContext(const SrtpContext&) = delete;
  SrtpContext& operator=(const SrtpContext&) = delete;

  // Bytes protect adds at the end of a packet.
  size_t rtp_trailer_bytes() const { return mki_.size() + rtp_tag_bytes_; }
  size_t rtcp_trailer_bytes() const { return 4 + mki_.size() + kRtcpTagBytes; }

  // `length` bytes at `packet` (a buffer of `capacity` bytes) in, `out_length` bytes out.
  SrtpStatus protect_rtp(uint8_t* packet, size_t length, size_t capacity, size_t& out_length);
  SrtpStatus unprotect_rtp(uint8_t* packet, size_t length, size_t& out_length);
  SrtpStatus protect_rtcp(uint8_t* packet, size_t length, size_t capacity, size_t& out_length);
  SrtpStatus unprotect_rtcp(uint8_t* packet, size_t length, size_t& out_length);

  // RFC 3711 §4.3.1 key derivation with r = 0 (test vectors of §B.3): `n` bytes for `label`.
  static bool derive(const uint8_t master_key[16], const uint8_t master_salt[14], uint8_t label, uint8_t* out,
                     size_t n);
  // RFC 3711 §4.1.1 AES-CM keystream for the 128-bit `iv` (test vectors of §B.2).
  static bool keystream(const uint8_t key[16], const uint8_t iv[16], uint8_t* out, size_t n);

  // Packets this key protected or accepted (its lifetime counts both).
  uint64_t srtp_packets() const { return srtp_packets_; }
  uint64_t srtcp_packets() const { return srtcp_packets_; }

 private:
  struct Stream;
  struct Keys;
  SrtpContext() = default;
  Stream* stream_for(uint32_t ssrc);
  bool tag(const Keys& keys, const uint8_t* data, size_t n, const uint8_t* extra, size_t extra_n,
           uint8_t out[20]);
  bool xor_keystream(const Keys& keys, uint32_t ssrc, uint64_t index, uint8_t* data, size_t n);

  std::unique_ptr<Keys> rtp_keys_;
  std::unique_ptr<Keys> rtcp_keys_;
  std::vector<uint8_t> mki_;
  size_t rtp_tag_bytes_ = 10;
  uint64_t srtp_limit_ = kMaxSrtpPackets;
  uint64_t srtcp_limit_ = kMaxSrtcpPackets;
  uint64_t srtp_packets_ = 0;
  uint64_t srtcp_packets_ = 0;
  std::vector<Stream> streams_;
};

}  // namespace grok::media

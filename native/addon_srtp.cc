// Binds SrtpContext: argument checks and one call per packet, in place on the caller's Buffer. The
// result is the packet's new length, or a negative SrtpStatus (names in srtpStatusNames). All
// crypto is in srtp.cc. Key bytes are copied into the context and never echoed in a message.
#include <openssl/crypto.h>

#include <cstring>
#include <memory>
#include <string>

#include "addon_args.h"
#include "bindings.h"
#include "srtp.h"

namespace grok::bindings {
namespace {

using grok::media::SrtpContext;
using grok::media::SrtpKey;
using grok::media::SrtpStatus;
using grok::media::SrtpSuite;

class SrtpContextWrap : public Napi::ObjectWrap<SrtpContextWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SrtpContext",
                       {
                           InstanceMethod<&SrtpContextWrap::Protect<false>>("protectRtp"),
                           InstanceMethod<&SrtpContextWrap::Unprotect<false>>("unprotectRtp"),
                           InstanceMethod<&SrtpContextWrap::Protect<true>>("protectRtcp"),
                           InstanceMethod<&SrtpContextWrap::Unprotect<true>>("unprotectRtcp"),
                           InstanceAccessor<&SrtpContextWrap::RtpTrailer>("rtpTrailerBytes"),
                           InstanceAccessor<&SrtpContextWrap::RtcpTrailer>("rtcpTrailerBytes"),
                       });
  }

  // (suite: 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32', keySalt: 30 bytes,
  //  lifetime: packets or 0, mki: Uint8Array (empty: none))
  explicit SrtpContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SrtpContextWrap>(info) {
    Napi::Env env = info.Env();
    SrtpKey key;
    if (info.Length() < 1 || !info[0].IsString()) {
      type_error(env, "SrtpContext: suite must be a string");
      return;
    }
    const std::string suite = info[0].As<Napi::String>().Utf8Value();
    if (suite == "AES_CM_128_HMAC_SHA1_80") {
      key.suite = SrtpSuite::kAesCm128HmacSha1_80;
    } else if (suite == "AES_CM_128_HMAC_SHA1_32") {
      key.suite = SrtpSuite::kAesCm128HmacSha1_32;
    } else {
      range_error(env, "SrtpContext: suite must be 'AES_CM_128_HMAC_SHA1_80' or 'AES_CM_128_HMAC_SHA1_32'");
      return;
    }
    Napi::Uint8Array key_salt, mki;
    double lifetime = 0;
    if (!bytes_arg(info, 1, "SrtpContext: keySalt", key_salt)) return;
    if (key_salt.ElementLength() != SrtpContext::kMasterKeyBytes + SrtpContext::kMasterSaltBytes) {
      range_error(env, "SrtpContext: keySalt must be 30 bytes (16 key + 14 salt), got " +
                           std::to_string(key_salt.ElementLength()));
      return;
    }
    if (!integer_arg(info, 2, "SrtpContext: lifetime", 0, 9007199254740991.0, lifetime)) return;
    if (!bytes_arg(info, 3, "SrtpContext: mki", mki)) return;
    if (mki.ElementLength() > SrtpContext::kMaxMkiBytes) {
      range_error(env, "SrtpContext: mki is at most 128 bytes, got " + std::to_string(mki.ElementLength()));
      return;
    }
    std::memcpy(key.master_key, key_salt.Data(), SrtpContext::kMasterKeyBytes);
    std::memcpy(key.master_salt, key_salt.Data() + SrtpContext::kMasterKeyBytes,
                SrtpContext::kMasterSaltBytes);
    key.lifetime = static_cast<uint64_t>(lifetime);
    key.mki.assign(mki.Data(), mki.Data() + mki.ElementLength());
    context_ = SrtpContext::create(key);
    OPENSSL_cleanse(key.master_key, sizeof key.master_key);
    OPENSSL_cleanse(key.master_salt, sizeof key.master_salt);
    if (!context_)
      Napi::Error::New(env, "SrtpContext: OpenSSL refused AES-128 / HMAC-SHA1").ThrowAsJavaScriptException();
  }

 private:
  // (packet: Uint8Array, length: number) -> new length or a negative status. The packet's bytes
  // [0, length) are protected in place; the trailer goes after them, within the array.
  template <bool kRtcp>
  Napi::Value Protect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!context_) return type_error(env, "SrtpContext: not constructed");
    Napi::Uint8Array packet;
    double length = 0;
    if (!bytes_arg(info, 0, "SrtpContext.protect: packet", packet)) return env.Undefined();
    if (!integer_arg(info, 1, "SrtpContext.protect: length", 0, static_cast<double>(packet.ElementLength()),
                     length))
      return env.Undefined();
    size_t out = 0;
    const auto n = static_cast<size_t>(length);
    const SrtpStatus status = kRtcp ? context_->protect_rtcp(packet.Data(), n, packet.ElementLength(), out)
                                    : context_->protect_rtp(packet.Data(), n, packet.ElementLength(), out);
    return Napi::Number::New(env,
                             status == SrtpStatus::kOk ? static_cast<double>(out) : static_cast<int>(status));
  }

  // (packet: Uint8Array, length: number) -> plain length or a negative status; the array is
  // unchanged unless the packet is accepted.
  template <bool kRtcp>
  Napi::Value Unprotect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!context_) return type_error(env, "SrtpContext: not constructed");
    Napi::Uint8Array packet;
    double length = 0;
    if (!bytes_arg(info, 0, "SrtpContext.unprotect: packet", packet)) return env.Undefined();
    if (!integer_arg(info, 1, "SrtpContext.unprotect: length", 0, static_cast<double>(packet.ElementLength()),
                     length))
      return env.Undefined();
    size_t out = 0;
    const auto n = static_cast<size_t>(length);
    const SrtpStatus status = kRtcp ? context_->unprotect_rtcp(packet.Data(), n, out)
                                    : context_->unprotect_rtp(packet.Data(), n, out);
    return Napi::Number::New(env,
                             status == SrtpStatus::kOk ? static_cast<double>(out) : static_cast<int>(status));
  }

  Napi::Value RtpTrailer(const Napi::CallbackInfo& info) {
    if (!context_) return type_error(info.Env(), "SrtpContext: not constructed");
    return Napi::Number::New(info.Env(), static_cast<double>(context_->rtp_trailer_bytes()));
  }
  Napi::Value RtcpTrailer(const Napi::CallbackInfo& info) {
    if (!context_) return type_error(info.Env(), "SrtpContext: not constructed");
    return Napi::Number::New(info.Env(), static_cast<double>(context_->rtcp_trailer_bytes()));
  }

  std::unique_ptr<SrtpContext> context_;
};

// srtpDerive(masterKey: 16 bytes, masterSalt: 14 bytes, label: 0..255, length) -> Buffer (RFC 3711 §4.3).
Napi::Value SrtpDerive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array key, salt;
  int label = 0, length = 0;
  if (!bytes_arg(info, 0, "srtpDerive: masterKey", key) ||
      !bytes_arg(info, 1, "srtpDerive: masterSalt", salt) ||
      !integer_arg(info, 2, "srtpDerive: label", 0, 255, label) ||
      !integer_arg(info, 3, "srtpDerive: length", 0, 1 << 20, length)) {
    return env.Undefined();
  }
  if (key.ElementLength() != 16 || salt.ElementLength() != 14) {
    return range_error(env, "srtpDerive: masterKey must be 16 bytes and masterSalt 14");
  }
  auto out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
  if (!SrtpContext::derive(key.Data(), salt.Data(), static_cast<uint8_t>(label), out.Data(), out.Length())) {
    return range_error(env, "srtpDerive: OpenSSL failed");
  }
  return out;
}

// srtpKeystream(key: 16 bytes, iv: 16 bytes, length) -> Buffer (RFC 3711 §4.1.1 AES-CM).
Napi::Value SrtpKeystream(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array key, iv;
  int length = 0;
  if (!bytes_arg(info, 0, "srtpKeystream: key", key) || !bytes_arg(info, 1, "srtpKeystream: iv", iv) ||
      !integer_arg(info, 2, "srtpKeystream: length", 0, 1 << 20, length)) {
    return env.Undefined();
  }
  if (key.ElementLength() != 16 || iv.ElementLength() != 16) {
    return range_error(env, "srtpKeystream: key and iv must be 16 bytes");
  }
  auto out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
  if (!SrtpContext::keystream(key.Data(), iv.Data(), out.Data(), out.Length())) {
    return range_error(env, "srtpKeystream: OpenSSL failed (at most 2^16 blocks)");
  }
  return out;
}

}  // namespace

void InitSrtp(Napi::Env env, Napi::Object exports) {
  exports.Set("SrtpContext", SrtpContextWrap::Define(env));
  exports.Set("srtpDerive", Napi::Function::New<SrtpDerive>(env, "srtpDerive"));
  exports.Set("srtpKeystream", Napi::Function::New<SrtpKeystream>(env, "srtpKeystream"));
  // Index -status: the reason of each negative result.
  Napi::Array names = Napi::Array::New(env);
  for (int code = 0; code >= static_cast<int>(SrtpStatus::kCryptoError); code--) {
    names.Set(static_cast<uint32_t>(-code), grok::media::srtp_status_name(static_cast<SrtpStatus>(code)));
  }
  exports.Set("srtpStatusNames", names);
}

}  // namespace grok::bindings

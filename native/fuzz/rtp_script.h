// Drives an RTP receiver (JitterBuffer or InboundAudio) the way src/media/rtp-session.ts does, from
// fuzz input: a sender's packets arrive with gaps, loss, reordering, duplicates, SSRC / sequence /
// timestamp jumps and RFC 4733 events (no payload), and a 20 ms media clock pulls frames on the
// performance.now() timeline (monotonic, ms, starts at 0). Every number comes from the input, so
// libFuzzer explores the receiver's state machine rather than one call.
//
// Receiver interface:
//   void push(const Packet& p, const uint8_t* payload, double arrival_ms);  // payload: p.n bytes
//   void pull(double now_ms);
//   void reconfigure(FuzzedDataProvider& in);  // a new instance (new codec / format / config)
//   void check();                              // invariants over stats()
#pragma once
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "jitter_buffer.h"

namespace grok::fuzz {

struct Packet {
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint32_t ssrc = 0;
  size_t n = 160;
  uint8_t shape = 0;  // payload content, see fill_payload()
};

// A little past the jitter buffer's limit, so oversized payloads are tried too.
constexpr size_t kMaxFuzzPayload = media::JitterBuffer::kMaxPayload + 64;
constexpr size_t kPtimes[] = {80, 160, 240, 320, 480, 960};  // 10..120 ms of 8 kHz G.711
constexpr int kMaxCalls = 128;  // push + pull calls per input: short sequences, many of them (exec/s)

inline uint32_t lcg(uint32_t& s) {
  s = s * 1664525u + 1013904223u;
  return s >> 8;
}

// Payload codes, by shape & 3: periodic in the RTP timestamp with a period of 40..120 samples
// (voiced speech: what the PLC's pitch search looks for), noise, the mu-law silence code, or
// alternating extremes (full-scale Nyquist: clipping in the PLC and the resampler).
inline void fill_payload(const Packet& p, uint8_t* out) {
  static constexpr uint8_t kWave[16] = {0xFF, 0xB0, 0xA0, 0x98, 0x90, 0x98, 0xA0, 0xB0,
                                        0x7F, 0x30, 0x20, 0x18, 0x10, 0x18, 0x20, 0x30};
  uint32_t s = p.seq * 2654435761u ^ p.shape;
  const uint32_t period = 40 + (p.shape >> 2) % 81;
  for (size_t i = 0; i < p.n; ++i) {
    switch (p.shape & 3) {
      case 0:
        out[i] = kWave[(p.ts + i) % period * 16 / period];
        break;
      case 1:
        out[i] = static_cast<uint8_t>(lcg(s));
        break;
      case 2:
        out[i] = 0xFF;
        break;
      default:
        out[i] = (p.ts + i) & 1 ? 0x80 : 0x00;
        break;
    }
  }
}

template <typename Receiver>
void run_rtp_script(FuzzedDataProvider& in, Receiver& rx) {
  double clock =
      double(in.ConsumeIntegralInRange<uint32_t>(0, 1u << 30)) + in.ConsumeIntegral<uint8_t>() / 256.0;
  Packet next;
  next.seq = in.ConsumeIntegral<uint16_t>();
  next.ts = in.ConsumeIntegral<uint32_t>();
  next.ssrc = in.ConsumeIntegral<uint32_t>();
  Packet held[8];  // packets held back by the network: delivered later (reordered, late)
  size_t n_held = 0;
  uint8_t payload[kMaxFuzzPayload];
  int calls = 0;

  auto send = [&](const Packet& p, double arrival_ms) {
    fill_payload(p, payload);
    if (p.shape & 0x80) in.ConsumeData(payload, p.n);  // raw bytes from the input over the pattern
    rx.push(p, payload, arrival_ms);
    ++calls;
  };
  auto pull = [&](double now_ms) {
    rx.pull(now_ms);
    ++calls;
  };

  while (in.remaining_bytes() > 0 && calls < kMaxCalls) {
    switch (in.ConsumeIntegralInRange<int>(0, 12)) {
      case 0:
      case 1:
      case 2: {  // the sender's next packet
        const uint8_t f = in.ConsumeIntegral<uint8_t>();
        if ((f & 7) < 6) {
          next.n = kPtimes[f & 7];
        } else if ((f & 7) == 6) {
          next.n = in.ConsumeIntegralInRange<size_t>(0, kMaxFuzzPayload);
        }  // 7: same size as the previous packet
        next.shape = in.ConsumeIntegral<uint8_t>();
        if (f & 0x08) {  // packets lost before this one
          const uint32_t lost = in.ConsumeIntegralInRange<uint32_t>(1, 64);
          next.seq = uint16_t(next.seq + lost);
          next.ts += lost * uint32_t(next.n);
        }
        clock += in.ConsumeIntegralInRange<int>(0, 200) * 0.25;  // 0..50 ms after the last event
        if ((f & 0x30) == 0x30 && n_held < std::size(held)) {
          held[n_held++] = next;
        } else {
          send(next, clock);
        }
        next.seq = uint16_t(next.seq + 1);
        next.ts += uint32_t(next.n);
        break;
      }
      case 3: {  // a held packet arrives now, or (none held) a duplicate of the last one
        if (n_held == 0) {
          Packet dup = next;
          dup.seq = uint16_t(dup.seq - 1);
          dup.ts -= uint32_t(dup.n);
          send(dup, clock);
          break;
        }
        const size_t i = in.ConsumeIntegralInRange<size_t>(0, n_held - 1);
        send(held[i], clock);
        held[i] = held[--n_held];
        break;
      }
      case 4: {  // any header: absolute seq / ts, same or other SSRC, any size
        Packet p;
        p.seq = in.ConsumeIntegral<uint16_t>();
        p.ts = in.ConsumeIntegral<uint32_t>();
        p.ssrc = in.ConsumeBool() ? next.ssrc : in.ConsumeIntegral<uint32_t>();
        p.n = in.ConsumeIntegralInRange<size_t>(0, kMaxFuzzPayload);
        p.shape = in.ConsumeIntegral<uint8_t>();
        send(p, clock);
        break;
      }
      case 5: {  // the sender restarts or jumps: new SSRC, new sequence or timestamp base
        const uint8_t f = in.ConsumeIntegral<uint8_t>();
        if (f & 1) next.ssrc = in.ConsumeIntegral<uint32_t>();
        if (f & 2) next.seq = in.ConsumeIntegral<uint16_t>();
        if (f & 4) next.ts = in.ConsumeIntegral<uint32_t>();
        if (f & 8) next.ts += uint32_t(in.ConsumeIntegralInRange<int32_t>(-32768, 32767));
        break;
      }
      case 6: {  // RFC 4733 event: a sequence number, no audio
        Packet p = next;
        p.n = 0;
        send(p, clock);
        next.seq = uint16_t(next.seq + 1);
        break;
      }
      case 7: {  // one media clock tick; its scheduled time may lag the last arrival
        clock += in.ConsumeIntegralInRange<int>(0, 160) * 0.25;
        pull(clock - in.ConsumeIntegralInRange<int>(0, 80) * 0.25);
        break;
      }
      case 8: {  // steady state: k packets at their ptime with jitter and loss, 20 ms ticks between
        const int k = in.ConsumeIntegralInRange<int>(1, 64);
        const uint32_t jitter_q = in.ConsumeIntegralInRange<uint32_t>(0, 800);  // quarter ms
        const uint32_t loss = in.ConsumeIntegral<uint8_t>();                    // per 256, of packets
        uint32_t s = in.ConsumeIntegral<uint32_t>();
        if (next.n == 0 || next.n > size_t(media::JitterBuffer::kMaxPayload)) next.n = 160;
        const double ptime_ms = double(next.n) / 8.0;
        struct Event {
          double t;
          bool tick;
          Packet p;
        };
        std::vector<Event> events;
        for (int i = 0; i < k; ++i) {
          const double sent = clock + (i + 1) * ptime_ms;
          if ((lcg(s) & 0xFF) >= loss) {
            events.push_back({sent + (jitter_q ? lcg(s) % (jitter_q + 1) : 0) * 0.25, false, next});
          }
          next.seq = uint16_t(next.seq + 1);
          next.ts += uint32_t(next.n);
        }
        const double end = clock + k * ptime_ms;
        for (double t = clock + 20; t <= end; t += 20) events.push_back({t, true, {}});
        std::stable_sort(events.begin(), events.end(),
                         [](const Event& a, const Event& b) { return a.t < b.t; });
        for (const Event& e : events) {
          if (e.tick) {
            pull(e.t);
          } else {
            send(e.p, e.t);
          }
        }
        clock = std::max(end, events.empty() ? end : events.back().t);
        break;
      }
      case 9:  // a pause: the process was descheduled, or the call on hold
        clock += in.ConsumeIntegralInRange<uint32_t>(0, 1u << 22);
        break;
      case 10:
        rx.reconfigure(in);
        break;
      case 11:
        rx.check();
        break;
      default: {  // non-finite times (the bindings reject them; the core must too)
        const double bad = in.ConsumeBool()
                               ? std::numeric_limits<double>::quiet_NaN()
                               : std::numeric_limits<double>::infinity() * (in.ConsumeBool() ? 1 : -1);
        if (in.ConsumeBool()) {
          send(next, bad);
        } else {
          pull(bad);
        }
        break;
      }
    }
  }
  rx.check();
}

}  // namespace grok::fuzz

// The RTCP APP packets of RTCoInfer (docs/wire-format.md, "RTCP APP packets"): what a
// device reports about its frames, in every RTCP compound it sends, and the results the
// server returns to it. Plain C++, strict decoding: anything but the exact layout is
// refused.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rtcoinfer {

// name "RCIF", subtype 0 (the device runs) or 1 (it has ended: sent with its BYE).
struct FrameCountReport {
  static constexpr char kName[5] = "RCIF";
  static constexpr std::size_t kSize = 12;
  std::uint16_t first_seq = 0;  // the number of the device's first frame
  std::uint32_t numbered = 0;   // frames numbered since, skipped ones included
  std::uint32_t skipped = 0;    // of those, the ones its controller never sent
  bool final = false;           // the subtype: 1 once the device has ended

  std::vector<std::uint8_t> encode() const;  // the APP data, kSize bytes, big-endian
  std::uint8_t subtype() const { return final ? 1 : 0; }
  // nullopt unless `size` is kSize, the reserved bytes are 0, skipped <= numbered and
  // the subtype is 0 or 1
  static std::optional<FrameCountReport> decode(unsigned subtype, const std::uint8_t *data, std::size_t size);
};

// name "RCIR", subtype 0: results the server returns to the device that sent the frames,
// in the RTCP of that device's session. 12 bytes each, big-endian, at most kMaxEntries
// per packet.
struct ReturnedResult {
  std::uint16_t seq = 0;          // the frame's number
  std::uint16_t class_index = 0;  // top-1 class
  double score = 0;               // its probability, 0..1 (16 bits on the wire)
  std::uint32_t server_us = 0;    // wall-clock µs mod 2^32 when the server answered
};

struct ResultBatch {
  static constexpr char kName[5] = "RCIR";
  static constexpr std::size_t kEntrySize = 12;
  static constexpr std::size_t kMaxEntries = 64;
  static std::vector<std::uint8_t> encode(const std::vector<ReturnedResult> &results);
  // nullopt unless the size is a whole number (1..kMaxEntries) of entries, the subtype 0
  // and the reserved bytes 0
  static std::optional<std::vector<ReturnedResult>> decode(unsigned subtype, const std::uint8_t *data,
                                                           std::size_t size);
};

// name "RCIA", subtype 0 (the server runs) or 1 (it lets the stream go: it is stopping
// while the device still runs): how far the server has accounted for the device's frames,
// in every RTCP compound of the device's session. The device's next server counts from
// `horizon` (the device moves its RCIF first_seq there), so a server restart counts
// each frame once. The APP packet's SSRC is the server session's own.
struct AccountedReport {
  static constexpr char kName[5] = "RCIA";
  static constexpr std::size_t kSize = 8;
  std::uint16_t horizon = 0;    // the first frame number this server has not accounted for
  std::uint32_t accounted = 0;  // frames it accounted for, from the RCIF first_seq it has to horizon
  // The server time of this device's recent frames (arrival -> result: queue, batch,
  // inference), in 100 µs steps (kServerTimeStepUs), saturating at 65535 (6.5 s); 0 while
  // none was measured. rtcoinfer-mpcrate server-latency=auto plans with it.
  std::uint16_t server_time = 0;
  bool final = false;
  static constexpr double kServerTimeStepUs = 100;

  std::vector<std::uint8_t> encode() const;  // u16 horizon, u16 server_time, u32 accounted
  std::uint8_t subtype() const { return final ? 1 : 0; }
  // the wire value for `ms` (rounded up to a step, at least 1 step, saturating)
  static std::uint16_t server_time_of(double ms);
  double server_time_ms() const { return server_time * kServerTimeStepUs / 1000.0; }
  // nullopt unless `size` is kSize and the subtype 0 or 1
  static std::optional<AccountedReport> decode(unsigned subtype, const std::uint8_t *data, std::size_t size);
};

}  // namespace rtcoinfer

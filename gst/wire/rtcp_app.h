// The RTCP APP packets of RTCoInfer (docs/wire-format.md, "RTCP APP packets"): what a
// device reports about its frames, in every RTCP compound it sends. Plain C++, strict
// decoding: anything but the exact layout is refused.
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

}  // namespace rtcoinfer

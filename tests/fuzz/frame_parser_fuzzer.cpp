// libFuzzer target for the feature-frame parser.
//
// Random mutations almost never carry a valid checksum, which would keep the fuzzer in
// the header checks. So inputs whose first byte is odd get that byte dropped and their
// checksum recomputed: those reach the range, zstd and bit-unpacking code.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "feature_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static rtcoinfer::FrameDecoder decoder(std::size_t(1) << 22);
  rtcoinfer::FrameHeader header;
  std::vector<float> values;
  if (size > 0 && (data[0] & 1)) {
    std::vector<std::uint8_t> frame(data + 1, data + size);
    if (frame.size() >= rtcoinfer::FrameLayout::kHeaderSize) {
      const std::uint32_t c = rtcoinfer::frame_checksum(frame.data(), frame.size());
      for (int i = 0; i < 4; ++i) frame[20 + i] = std::uint8_t(c >> (8 * i));
    }
    decoder.decode(frame.data(), frame.size(), header, values);
  } else {
    decoder.decode(data, size, header, values);
  }
  return 0;
}

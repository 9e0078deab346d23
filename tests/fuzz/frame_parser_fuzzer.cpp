// libFuzzer target for the frame parsers: feature frames (and their slices) and image
// frames.
//
// Random mutations almost never carry a valid checksum, which would keep the fuzzer in
// the header checks. So inputs whose first byte is odd get that byte dropped and their
// checksum recomputed: those reach the range, zstd and bit-unpacking code (or, for an
// image frame, the PNG/JPEG header sniffing). Bit 1 of the first byte picks the format.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wire/feature_frame.h"
#include "wire/image_frame.h"

namespace {

void reseal(std::vector<std::uint8_t> &frame, std::size_t checksum_offset, std::size_t header_size) {
  if (frame.size() < header_size) return;
  const std::uint32_t c = rtcoinfer::chained_checksum(frame.data(), frame.size(), checksum_offset, header_size);
  for (std::size_t i = 0; i < 4; ++i) frame[checksum_offset + i] = std::uint8_t(c >> (8 * i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static rtcoinfer::FrameDecoder decoder(std::size_t(1) << 22);
  rtcoinfer::FrameHeader header;
  rtcoinfer::ImageFrameHeader image;
  std::vector<float> values;
  const bool as_image = size > 0 && (data[0] & 2);
  if (size > 0 && (data[0] & 1)) {
    std::vector<std::uint8_t> frame(data + 1, data + size);
    if (as_image) {
      reseal(frame, 18, rtcoinfer::ImageFrameLayout::kHeaderSize);
      rtcoinfer::parse_image_frame(frame.data(), frame.size(), image);
    } else {
      reseal(frame, 20, rtcoinfer::FrameLayout::kHeaderSize);
      decoder.decode(frame.data(), frame.size(), header, values);
    }
  } else if (as_image) {
    rtcoinfer::parse_image_frame(data, size, image);
  } else {
    decoder.decode(data, size, header, values);
  }
  return 0;
}

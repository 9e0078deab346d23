// ImageFrame: one encoded camera image (PNG or JPEG) on the wire, for the image-offload
// baseline (docs/wire-format.md, "Image frames"). rtpgstpay carries no GstMeta, so the
// frame number, capture time and ground truth travel in this header, as in a feature
// frame; the image bytes follow untouched.
//
// Decoding is strict and allocation-free: it checks the header, the length, the
// checksum, and that the codec's own header (PNG IHDR, JPEG SOF) declares the size the
// frame header declares, so a decompression bomb is refused before anything decodes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "wire/feature_frame.h"

namespace rtcoinfer {

enum class ImageCodec : std::uint8_t { Png = 0, Jpeg = 1 };
const char *image_codec_name(ImageCodec c);  // "png", "jpeg"

struct ImageFrameLayout {
  static constexpr std::size_t kHeaderSize = 22;
  static constexpr std::size_t kTruthBytes = 2;
  static constexpr std::uint8_t kMagic0 = 'R', kMagic1 = 'I';
  static constexpr std::uint8_t kVersion = 1;
  static constexpr int kMaxSide = 16384;
  static constexpr std::uint32_t kMaxPayload = 0xffffffu;
};

struct ImageFrameHeader {
  ImageCodec codec = ImageCodec::Png;
  std::optional<std::uint16_t> truth;
  std::uint16_t seq = 0;
  std::uint32_t capture_us = 0;  // CLOCK_REALTIME microseconds modulo 2^32, as in feature frames
  int width = 0, height = 0;
  int channels = 0;  // 1 (gray) or 3 (color)
  std::uint32_t payload_length = 0;
  std::size_t payload_offset = 0;  // where the PNG/JPEG bytes start
};

struct ImageFrameParams {
  ImageCodec codec = ImageCodec::Png;
  std::uint16_t seq = 0;
  std::uint32_t capture_us = 0;
  std::optional<std::uint16_t> truth;
  int width = 0, height = 0, channels = 0;
};

// Wraps `image` (the PNG or JPEG bytes of a width x height x channels picture) into `out`.
// Fails with BadShape for sizes outside 1..kMaxSide or channels other than 1 and 3, and
// TooLarge for more than kMaxPayload bytes.
FrameStatus encode_image_frame(const ImageFrameParams &params, const std::uint8_t *image, std::size_t size,
                               std::vector<std::uint8_t> &out);

// Checks everything but the image data itself. `max_pixels` bounds width x height
// (TooLarge above it). Errors: Truncated, BadMagic, UnsupportedVersion, ReservedFlags,
// LengthMismatch, ChecksumMismatch, TooLarge, BadShape (the codec's header is missing
// or disagrees with the frame header).
FrameStatus parse_image_frame(const std::uint8_t *data, std::size_t size, ImageFrameHeader &out,
                              std::size_t max_pixels = std::size_t(4096) * 4096);

// The size a PNG or JPEG declares in its own header, without decoding it; nullopt when
// the bytes are not a well-formed start of that codec's stream.
struct ImageSize {
  int width = 0, height = 0, channels = 0;
};
std::optional<ImageSize> sniff_image_size(ImageCodec codec, const std::uint8_t *data, std::size_t size);

}  // namespace rtcoinfer

#include "image_frame.h"

#include <string>

#include "wire/le_bytes.h"

namespace rtcoinfer {

namespace {

using L = ImageFrameLayout;
using namespace le;

// Header offsets (docs/wire-format.md, "Image frames").
constexpr std::size_t kOffVersion = 2, kOffFlags = 3, kOffSeq = 4, kOffCapture = 6, kOffWidth = 10, kOffHeight = 12,
                      kOffChannels = 14, kOffPayloadLen = 15, kOffChecksum = 18;
constexpr std::uint8_t kFlagCodecMask = 0x03, kFlagTruth = 0x20, kFlagReserved = 0xdc;

std::uint32_t get_be32(const std::uint8_t *p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
int get_be16(const std::uint8_t *p) { return p[0] << 8 | p[1]; }

std::optional<ImageSize> sniff_png(const std::uint8_t *d, std::size_t n) {
  static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  // signature, IHDR length (13), "IHDR", width, height, bit depth, color type
  if (n < 8 + 8 + 10) return std::nullopt;
  for (int i = 0; i < 8; ++i)
    if (d[i] != kSignature[i]) return std::nullopt;
  if (get_be32(d + 8) != 13 || d[12] != 'I' || d[13] != 'H' || d[14] != 'D' || d[15] != 'R') return std::nullopt;
  const std::uint32_t w = get_be32(d + 16), h = get_be32(d + 20);
  if (w == 0 || h == 0 || w > std::uint32_t(L::kMaxSide) || h > std::uint32_t(L::kMaxSide)) return std::nullopt;
  const std::uint8_t color = d[25];
  int channels;
  switch (color) {
    case 0:
    case 4: channels = 1; break;  // gray, gray + alpha
    case 2:
    case 3:
    case 6: channels = 3; break;  // RGB, palette, RGBA
    default: return std::nullopt;
  }
  return ImageSize{int(w), int(h), channels};
}

// Walks the marker segments up to the first frame header (SOFn); the scan must not
// start before it.
std::optional<ImageSize> sniff_jpeg(const std::uint8_t *d, std::size_t n) {
  if (n < 4 || d[0] != 0xff || d[1] != 0xd8) return std::nullopt;
  std::size_t i = 2;
  while (i + 1 < n) {
    if (d[i] != 0xff) return std::nullopt;
    const std::uint8_t marker = d[i + 1];
    if (marker == 0xff) {
      ++i;
      continue;
    }  // fill byte
    i += 2;
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;           // no length
    if (marker == 0xd8 || marker == 0xd9 || marker == 0xda) return std::nullopt;  // SOI, EOI, SOS before SOF
    if (i + 2 > n) return std::nullopt;
    const std::size_t length = std::size_t(get_be16(d + i));
    if (length < 2 || i + length > n) return std::nullopt;
    const bool sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (sof) {
      if (length < 8) return std::nullopt;
      const int h = get_be16(d + i + 3), w = get_be16(d + i + 5), components = d[i + 7];
      if (w == 0 || h == 0 || w > L::kMaxSide || h > L::kMaxSide) return std::nullopt;
      if (components != 1 && components != 3) return std::nullopt;
      return ImageSize{w, h, components};
    }
    i += length;
  }
  return std::nullopt;
}

}  // namespace

const char *image_codec_name(ImageCodec c) { return c == ImageCodec::Jpeg ? "jpeg" : "png"; }

std::optional<ImageSize> sniff_image_size(ImageCodec codec, const std::uint8_t *data, std::size_t size) {
  if (!data) return std::nullopt;
  return codec == ImageCodec::Jpeg ? sniff_jpeg(data, size) : sniff_png(data, size);
}

FrameStatus encode_image_frame(const ImageFrameParams &p, const std::uint8_t *image, std::size_t size,
                               std::vector<std::uint8_t> &out) {
  if (p.width < 1 || p.height < 1 || p.width > L::kMaxSide || p.height > L::kMaxSide ||
      (p.channels != 1 && p.channels != 3))
    return FrameStatus::failure(FrameError::BadShape, "image of " + std::to_string(p.width) + "x" +
                                                          std::to_string(p.height) + "x" + std::to_string(p.channels) +
                                                          " cannot be framed (1..16384 per side, 1 or 3 channels)");
  if (size > L::kMaxPayload)
    return FrameStatus::failure(FrameError::TooLarge,
                                "encoded image of " + std::to_string(size) + " bytes exceeds the frame's 16 MiB limit");
  const std::size_t truth = p.truth ? L::kTruthBytes : 0;
  out.assign(L::kHeaderSize + truth + size, 0);
  std::uint8_t *h = out.data();
  h[0] = L::kMagic0;
  h[1] = L::kMagic1;
  h[kOffVersion] = L::kVersion;
  h[kOffFlags] = std::uint8_t(std::uint8_t(p.codec) | (p.truth ? kFlagTruth : 0));
  put_u16(h + kOffSeq, p.seq);
  put_u32(h + kOffCapture, p.capture_us);
  put_u16(h + kOffWidth, std::uint16_t(p.width - 1));
  put_u16(h + kOffHeight, std::uint16_t(p.height - 1));
  h[kOffChannels] = std::uint8_t(p.channels);
  put_u24(h + kOffPayloadLen, std::uint32_t(size));
  if (p.truth) put_u16(h + L::kHeaderSize, *p.truth);
  if (size) std::copy(image, image + size, h + L::kHeaderSize + truth);
  put_u32(h + kOffChecksum, chained_checksum(h, out.size(), kOffChecksum, L::kHeaderSize));
  return {};
}

FrameStatus parse_image_frame(const std::uint8_t *d, std::size_t size, ImageFrameHeader &h, std::size_t max_pixels) {
  if (!d || size < L::kHeaderSize)
    return FrameStatus::failure(FrameError::Truncated,
                                "image frame of " + std::to_string(size) + " bytes is shorter than the 22-byte header");
  if (d[0] != L::kMagic0 || d[1] != L::kMagic1)
    return FrameStatus::failure(FrameError::BadMagic, "not an image frame (magic is not \"RI\")");
  if (d[kOffVersion] != L::kVersion)
    return FrameStatus::failure(
        FrameError::UnsupportedVersion,
        "image frame version " + std::to_string(d[kOffVersion]) + " is not supported (this build reads version 1)");
  const std::uint8_t flags = d[kOffFlags];
  if ((flags & kFlagReserved) || (flags & kFlagCodecMask) > 1)
    return FrameStatus::failure(FrameError::ReservedFlags, "reserved flag bits or an unknown codec are set");
  h.codec = ImageCodec(flags & kFlagCodecMask);
  h.seq = get_u16(d + kOffSeq);
  h.capture_us = get_u32(d + kOffCapture);
  h.width = get_u16(d + kOffWidth) + 1;
  h.height = get_u16(d + kOffHeight) + 1;
  h.channels = d[kOffChannels];
  h.payload_length = get_u24(d + kOffPayloadLen);
  const bool has_truth = flags & kFlagTruth;
  h.payload_offset = L::kHeaderSize + (has_truth ? L::kTruthBytes : 0);
  if (size < h.payload_offset)
    return FrameStatus::failure(FrameError::Truncated, "image frame ends inside its truth label");
  if (size != h.payload_offset + h.payload_length)
    return FrameStatus::failure(FrameError::LengthMismatch,
                                "header announces a " + std::to_string(h.payload_length) + "-byte image (" +
                                    std::to_string(h.payload_offset + h.payload_length) +
                                    " bytes in all) but the frame has " + std::to_string(size));
  if (get_u32(d + kOffChecksum) != chained_checksum(d, size, kOffChecksum, L::kHeaderSize))
    return FrameStatus::failure(FrameError::ChecksumMismatch, "checksum mismatch: image frame is corrupt");
  h.truth.reset();
  if (has_truth) h.truth = get_u16(d + L::kHeaderSize);
  const std::string declared =
      std::to_string(h.width) + "x" + std::to_string(h.height) + "x" + std::to_string(h.channels);
  if (h.width > L::kMaxSide || h.height > L::kMaxSide || std::size_t(h.width) * std::size_t(h.height) > max_pixels)
    return FrameStatus::failure(FrameError::TooLarge, "image of " + declared + " exceeds this decoder's limit of " +
                                                          std::to_string(max_pixels) + " pixels");
  auto sniffed = sniff_image_size(h.codec, d + h.payload_offset, h.payload_length);
  if (!sniffed)
    return FrameStatus::failure(FrameError::BadShape,
                                std::string("payload does not start like a ") + image_codec_name(h.codec) + " image");
  if (sniffed->width != h.width || sniffed->height != h.height || sniffed->channels != h.channels)
    return FrameStatus::failure(FrameError::BadShape,
                                std::string("the ") + image_codec_name(h.codec) + " header declares " +
                                    std::to_string(sniffed->width) + "x" + std::to_string(sniffed->height) + "x" +
                                    std::to_string(sniffed->channels) + ", the frame header " + declared);
  return {};
}

}  // namespace rtcoinfer

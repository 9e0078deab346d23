// FeatureFrame: the bytes that carry one partition-layer tensor across the network.
//
// Encoding keeps the first k channels, quantizes each channel min-max to L = 2^b - 1
// levels, packs the codes tightly and optionally entropy-codes them with zstd. The byte
// layout is specified in docs/wire-format.md; this file is its only implementation.
// Decoding is strict: every field is checked before it is used and nothing is read
// outside the given bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "wire/setup_table.h"

namespace rtcoinfer {

enum class Entropy { None, Zstd, Auto };

struct FrameLayout {
  static constexpr std::size_t kHeaderSize = 24;
  static constexpr std::size_t kRangeBytesPerChannel = 4;
  static constexpr std::size_t kTruthBytes = 2;
  static constexpr std::size_t kSliceBytes = 1;
  static constexpr std::uint8_t kMagic0 = 'R', kMagic1 = 'C';
  static constexpr std::uint8_t kVersion = 1;
  static constexpr int kMaxDim = 256;  // channels, height, width
  static constexpr std::uint32_t kMaxPayload = 0xffffffu;
};

struct FrameHeader {
  std::uint8_t version = 0;
  bool zstd = false;
  std::optional<std::uint16_t> truth;  // ground-truth class, when the source knew it
  std::uint32_t model_id = 0;
  std::uint16_t seq = 0;
  std::uint32_t capture_us = 0;  // CLOCK_REALTIME microseconds modulo 2^32
  int bits = 0;
  int channels = 0;  // k, channels present in the frame
  int height = 0;
  int width = 0;
  std::uint32_t payload_length = 0;
  std::size_t total_size = 0;
  // A slice (CLIO-style progressive sending) carries channels [first_channel,
  // first_channel + channels) of its frame; `last_slice` marks the frame's final one.
  bool slice = false, last_slice = false;
  int first_channel = 0;

  std::uint32_t levels() const { return (1u << bits) - 1u; }
  std::size_t values() const { return std::size_t(channels) * height * width; }
};

enum class FrameError {
  None = 0,
  // decode
  Truncated,
  BadMagic,
  UnsupportedVersion,
  ReservedFlags,
  LengthMismatch,
  ChecksumMismatch,
  TooLarge,
  BadChannelRange,
  PayloadSizeMismatch,
  EntropyError,
  NonZeroPadding,
  // encode
  BadShape,
  BadSetup,
  NonFiniteInput,
  InputOutOfRange,
};

const char *frame_error_name(FrameError e);

struct FrameStatus {
  FrameError error = FrameError::None;
  std::string message;
  bool ok() const { return error == FrameError::None; }
  static FrameStatus failure(FrameError e, std::string msg) { return {e, std::move(msg)}; }
};

// The frame checksum as docs/wire-format.md defines it (the stored field not covered).
// Requires size >= FrameLayout::kHeaderSize.
std::uint32_t frame_checksum(const std::uint8_t *frame, std::size_t size);
// The construction both wire formats use: low 32 bits of XXH3-64 over the bytes after
// the header, seeded with XXH3-64 of the header bytes before the checksum field (which
// ends the header). Requires size >= header_size >= checksum_offset + 4.
std::uint32_t chained_checksum(const std::uint8_t *frame, std::size_t size, std::size_t checksum_offset,
                               std::size_t header_size);

// The transmitted range of one channel: min rounded down and max rounded up to binary16.
struct ChannelRange {
  std::uint16_t lo_bits = 0, hi_bits = 0;
  float lo = 0, hi = 0;
};
// Shared with the trainer so training quantizes exactly as deployment does.
// Requires finite min <= max within +-65504.
ChannelRange quantization_range(float min, float max);

struct EncodeParams {
  Setup setup;
  Entropy entropy = Entropy::Auto;
  std::uint32_t model_id = 0;
  std::uint16_t seq = 0;
  std::uint32_t capture_us = 0;
  std::optional<std::uint16_t> truth;
  // Set: encode channels [slice->first_channel, + setup.channels) as a slice.
  struct Slice {
    int first_channel = 0;
    bool last = false;
  };
  std::optional<Slice> slice;
};

// The largest feature frame of `setup` on an H x W partition the encoder can write
// (zstd's worst case included, with the ground truth and a slice byte): a receiver
// holding more bytes for one frame than the largest of its model's setups is being fed
// something else.
std::size_t max_frame_bytes(const Setup &setup, int height, int width);

class FrameEncoder {
 public:
  explicit FrameEncoder(int zstd_level = 1);
  ~FrameEncoder();
  FrameEncoder(const FrameEncoder &) = delete;
  FrameEncoder &operator=(const FrameEncoder &) = delete;

  // `chw` holds total_channels x height x width float32 values (the whole partition
  // output); the first params.setup.channels channels are encoded into `out` (or, for a
  // slice, that many from params.slice->first_channel on).
  FrameStatus encode(const float *chw, int total_channels, int height, int width, const EncodeParams &params,
                     std::vector<std::uint8_t> &out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class FrameDecoder {
 public:
  // Frames with more than max_values values are refused before any allocation.
  explicit FrameDecoder(std::size_t max_values = std::size_t(1) << 24);
  ~FrameDecoder();
  FrameDecoder(const FrameDecoder &) = delete;
  FrameDecoder &operator=(const FrameDecoder &) = delete;

  // Checks structure, lengths and checksum; does not touch the payload's contents.
  static FrameStatus parse_header(const std::uint8_t *data, std::size_t size, FrameHeader &out);
  // Full decode: header, ranges, payload. `values` receives channels x height x width floats.
  FrameStatus decode(const std::uint8_t *data, std::size_t size, FrameHeader &header, std::vector<float> &values);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t max_values_;
};

}  // namespace rtcoinfer

#include "feature_frame.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "wire/half_float.h"
#include "wire/le_bytes.h"

namespace rtcoinfer {

namespace {

using L = FrameLayout;

// Header offsets (docs/wire-format.md, version 1).
constexpr std::size_t kOffMagic = 0, kOffVersion = 2, kOffFlags = 3, kOffModel = 4, kOffSeq = 8, kOffCapture = 10,
                      kOffChannels = 14, kOffHeight = 15, kOffWidth = 16, kOffPayloadLen = 17, kOffChecksum = 20;
constexpr std::uint8_t kFlagBitsMask = 0x0f, kFlagZstd = 0x10, kFlagTruth = 0x20, kFlagSlice = 0x40,
                       kFlagLastSlice = 0x80;

using namespace le;

std::string dims(int k, int h, int w) { return std::to_string(k) + "x" + std::to_string(h) + "x" + std::to_string(w); }

// Scans one channel: min, max and whether any value is NaN/Inf. The NaN/Inf test is an
// integer test on the exponent bits so the loop vectorizes.
struct Scan {
  float min, max;
  bool finite;
};
Scan scan_channel(const float *p, std::size_t n) {
  float mn = p[0], mx = p[0];
  std::uint32_t nonfinite = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = p[i];
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    nonfinite |= (u & 0x7f800000u) + 0x00800000u;  // carries into bit 31 only for exponent 0xff
  }
  return {mn, mx, (nonfinite & 0x80000000u) == 0};
}

// Quantizes one channel into codes (one uint16 each); the packers then lay them out.
template <typename Code>
void quantize(const float *p, std::size_t n, float lo, float inv, std::uint32_t levels, Code *out) {
  const float top = float(levels);
  for (std::size_t i = 0; i < n; ++i) {
    float q = (p[i] - lo) * inv + 0.5f;
    q = q < top ? q : top;  // float rounding can land a hair above L
    out[i] = Code(std::uint32_t(q));
  }
}

// Little-endian bit stream, least significant bit first, codes of `bits` bits each.
class BitWriter {
 public:
  explicit BitWriter(std::uint8_t *out) : out_(out) {}
  void put(std::uint32_t code, int bits) {
    acc_ |= std::uint64_t(code) << n_;
    n_ += bits;
    while (n_ >= 8) {
      *out_++ = std::uint8_t(acc_);
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  void flush() {
    if (n_ > 0) {
      *out_++ = std::uint8_t(acc_);
      acc_ = 0;
      n_ = 0;
    }
  }

 private:
  std::uint8_t *out_;
  std::uint64_t acc_ = 0;
  int n_ = 0;
};

}  // namespace

std::uint32_t chained_checksum(const std::uint8_t *data, std::size_t size, std::size_t checksum_offset,
                               std::size_t header_size) {
  const XXH64_hash_t seed = XXH3_64bits(data, checksum_offset);
  return std::uint32_t(XXH3_64bits_withSeed(data + header_size, size - header_size, seed));
}

std::uint32_t frame_checksum(const std::uint8_t *data, std::size_t size) {
  return chained_checksum(data, size, kOffChecksum, L::kHeaderSize);
}

const char *frame_error_name(FrameError e) {
  switch (e) {
    case FrameError::None: return "ok";
    case FrameError::Truncated: return "truncated";
    case FrameError::BadMagic: return "bad-magic";
    case FrameError::UnsupportedVersion: return "unsupported-version";
    case FrameError::ReservedFlags: return "reserved-flags";
    case FrameError::LengthMismatch: return "length-mismatch";
    case FrameError::ChecksumMismatch: return "checksum-mismatch";
    case FrameError::TooLarge: return "too-large";
    case FrameError::BadChannelRange: return "bad-channel-range";
    case FrameError::PayloadSizeMismatch: return "payload-size-mismatch";
    case FrameError::EntropyError: return "entropy-error";
    case FrameError::NonZeroPadding: return "nonzero-padding";
    case FrameError::BadShape: return "bad-shape";
    case FrameError::BadSetup: return "bad-setup";
    case FrameError::NonFiniteInput: return "non-finite-input";
    case FrameError::InputOutOfRange: return "input-out-of-range";
  }
  return "unknown";
}

ChannelRange quantization_range(float min, float max) {
  ChannelRange r;
  r.lo_bits = half::round_down(min);
  r.hi_bits = half::round_up(max);
  r.lo = half::to_float(r.lo_bits);
  r.hi = half::to_float(r.hi_bits);
  return r;
}

// ---------------------------------------------------------------- encoder

struct FrameEncoder::Impl {
  ZSTD_CCtx *cctx = nullptr;
  int level = 1;
  std::vector<std::uint16_t> codes;
  std::vector<std::uint8_t> raw;
  ~Impl() { ZSTD_freeCCtx(cctx); }
};

std::size_t max_frame_bytes(const Setup &setup, int height, int width) {
  const std::size_t raw = setup.packed_bytes(height, width);
  return FrameLayout::kHeaderSize + FrameLayout::kTruthBytes + FrameLayout::kSliceBytes +
         std::size_t(setup.channels) * FrameLayout::kRangeBytesPerChannel + std::max(raw, ZSTD_compressBound(raw));
}

FrameEncoder::FrameEncoder(int zstd_level) : impl_(std::make_unique<Impl>()) {
  impl_->level = zstd_level;
  impl_->cctx = ZSTD_createCCtx();
}
FrameEncoder::~FrameEncoder() = default;

FrameStatus FrameEncoder::encode(const float *chw, int total_channels, int height, int width,
                                 const EncodeParams &params, std::vector<std::uint8_t> &out) {
  const int k = params.setup.channels, bits = params.setup.bits;
  if (!chw || total_channels < 1 || height < 1 || width < 1 || total_channels > L::kMaxDim || height > L::kMaxDim ||
      width > L::kMaxDim)
    return FrameStatus::failure(FrameError::BadShape, "feature tensor " + dims(total_channels, height, width) +
                                                          " is outside the wire format's 1..256 per dimension");
  const int first = params.slice ? params.slice->first_channel : 0;
  if (k < 1 || first < 0 || first + k > total_channels || bits < 1 || bits > 16)
    return FrameStatus::failure(
        FrameError::BadSetup, "setup " + params.setup.name() + (first ? " from channel " + std::to_string(first) : "") +
                                  " does not fit a " + std::to_string(total_channels) + "-channel feature tensor");
  const std::size_t plane = std::size_t(height) * width;
  const std::size_t raw_size = params.setup.packed_bytes(height, width);
  const std::uint32_t levels = params.setup.levels();
  const std::size_t prefix = L::kHeaderSize + L::kRangeBytesPerChannel * k + (params.truth ? L::kTruthBytes : 0) +
                             (params.slice ? L::kSliceBytes : 0);

  auto &raw = impl_->raw;
  raw.resize(raw_size);
  out.resize(prefix);
  std::uint8_t *ranges = out.data() + L::kHeaderSize;

  if (bits != 8) impl_->codes.resize(plane);
  BitWriter writer(raw.data());
  for (int c = 0; c < k; ++c) {
    const float *p = chw + std::size_t(first + c) * plane;
    const Scan s = scan_channel(p, plane);
    if (!s.finite)
      return FrameStatus::failure(FrameError::NonFiniteInput, "channel " + std::to_string(c) + " holds NaN or Inf");
    if (s.min < -half::kMax || s.max > half::kMax)
      return FrameStatus::failure(FrameError::InputOutOfRange,
                                  "channel " + std::to_string(c) + " spans [" + std::to_string(s.min) + ", " +
                                      std::to_string(s.max) + "], outside the wire format's +-65504");
    const ChannelRange r = quantization_range(s.min, s.max);
    put_u16(ranges + 4 * c, r.lo_bits);
    put_u16(ranges + 4 * c + 2, r.hi_bits);
    const float inv = r.hi > r.lo ? float(levels) / (r.hi - r.lo) : 0.0f;
    if (bits == 8) {
      quantize(p, plane, r.lo, inv, levels, raw.data() + c * plane);
    } else if (bits == 16) {
      const std::uint16_t *dst = impl_->codes.data();
      quantize(p, plane, r.lo, inv, levels, impl_->codes.data());
      std::uint8_t *o = raw.data() + 2 * c * plane;
      for (std::size_t i = 0; i < plane; ++i) put_u16(o + 2 * i, dst[i]);
    } else {
      quantize(p, plane, r.lo, inv, levels, impl_->codes.data());
      for (std::size_t i = 0; i < plane; ++i) writer.put(impl_->codes[i], bits);
    }
  }
  if (bits != 8 && bits != 16) writer.flush();
  if (params.truth) put_u16(out.data() + L::kHeaderSize + L::kRangeBytesPerChannel * k, *params.truth);
  if (params.slice) out[prefix - L::kSliceBytes] = std::uint8_t(first);

  bool use_zstd = false;
  std::size_t payload = raw_size;
  if (params.entropy != Entropy::None) {
    out.resize(prefix + ZSTD_compressBound(raw_size));
    const std::size_t z =
        ZSTD_compressCCtx(impl_->cctx, out.data() + prefix, out.size() - prefix, raw.data(), raw_size, impl_->level);
    if (ZSTD_isError(z))
      return FrameStatus::failure(FrameError::EntropyError, std::string("zstd: ") + ZSTD_getErrorName(z));
    use_zstd = params.entropy == Entropy::Zstd || z < raw_size;
    if (use_zstd) payload = z;
  }
  if (payload > L::kMaxPayload)
    return FrameStatus::failure(FrameError::TooLarge,
                                "payload of " + std::to_string(payload) + " bytes exceeds the 16 MiB frame limit");
  out.resize(prefix + payload);
  if (!use_zstd) std::memcpy(out.data() + prefix, raw.data(), raw_size);

  std::uint8_t *h = out.data();
  h[kOffMagic] = L::kMagic0;
  h[kOffMagic + 1] = L::kMagic1;
  h[kOffVersion] = L::kVersion;
  h[kOffFlags] =
      std::uint8_t((bits - 1) | (use_zstd ? kFlagZstd : 0) | (params.truth ? kFlagTruth : 0) |
                   (params.slice ? kFlagSlice : 0) | (params.slice && params.slice->last ? kFlagLastSlice : 0));
  put_u32(h + kOffModel, params.model_id);
  put_u16(h + kOffSeq, params.seq);
  put_u32(h + kOffCapture, params.capture_us);
  h[kOffChannels] = std::uint8_t(k - 1);
  h[kOffHeight] = std::uint8_t(height - 1);
  h[kOffWidth] = std::uint8_t(width - 1);
  put_u24(h + kOffPayloadLen, std::uint32_t(payload));
  put_u32(h + kOffChecksum, frame_checksum(h, out.size()));
  return {};
}

// ---------------------------------------------------------------- decoder

struct FrameDecoder::Impl {
  ZSTD_DCtx *dctx = nullptr;
  std::vector<std::uint8_t> raw;
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

FrameDecoder::FrameDecoder(std::size_t max_values) : impl_(std::make_unique<Impl>()), max_values_(max_values) {
  impl_->dctx = ZSTD_createDCtx();
}
FrameDecoder::~FrameDecoder() = default;

FrameStatus FrameDecoder::parse_header(const std::uint8_t *d, std::size_t size, FrameHeader &h) {
  if (!d || size < L::kHeaderSize)
    return FrameStatus::failure(FrameError::Truncated,
                                "frame of " + std::to_string(size) + " bytes is shorter than the 24-byte header");
  if (d[kOffMagic] != L::kMagic0 || d[kOffMagic + 1] != L::kMagic1)
    return FrameStatus::failure(FrameError::BadMagic, "not a feature frame (magic is not \"RC\")");
  h.version = d[kOffVersion];
  if (h.version != L::kVersion)
    return FrameStatus::failure(FrameError::UnsupportedVersion, "feature frame version " + std::to_string(h.version) +
                                                                    " is not supported (this build reads version 1)");
  const std::uint8_t flags = d[kOffFlags];
  if ((flags & kFlagLastSlice) && !(flags & kFlagSlice))
    return FrameStatus::failure(FrameError::ReservedFlags, "the last-slice flag is set on a frame that is no slice");
  h.bits = (flags & kFlagBitsMask) + 1;
  h.zstd = flags & kFlagZstd;
  h.model_id = get_u32(d + kOffModel);
  h.seq = get_u16(d + kOffSeq);
  h.capture_us = get_u32(d + kOffCapture);
  h.channels = d[kOffChannels] + 1;
  h.height = d[kOffHeight] + 1;
  h.width = d[kOffWidth] + 1;
  h.payload_length = get_u24(d + kOffPayloadLen);
  const bool has_truth = flags & kFlagTruth;
  h.slice = flags & kFlagSlice;
  h.last_slice = flags & kFlagLastSlice;
  const std::size_t prefix = L::kHeaderSize + L::kRangeBytesPerChannel * std::size_t(h.channels) +
                             (has_truth ? L::kTruthBytes : 0) + (h.slice ? L::kSliceBytes : 0);
  h.total_size = prefix + h.payload_length;
  if (size < prefix)
    return FrameStatus::failure(FrameError::Truncated, "frame of " + std::to_string(size) + " bytes ends inside its " +
                                                           std::to_string(h.channels) + " channel ranges");
  if (size != h.total_size)
    return FrameStatus::failure(FrameError::LengthMismatch, "header announces a " + std::to_string(h.payload_length) +
                                                                "-byte payload (" + std::to_string(h.total_size) +
                                                                " bytes in all) but the frame has " +
                                                                std::to_string(size));
  const std::uint32_t stored = get_u32(d + kOffChecksum);
  if (stored != frame_checksum(d, size))
    return FrameStatus::failure(FrameError::ChecksumMismatch, "checksum mismatch: frame is corrupt");
  h.truth.reset();
  const std::uint8_t *after_ranges = d + L::kHeaderSize + L::kRangeBytesPerChannel * std::size_t(h.channels);
  if (has_truth) h.truth = get_u16(after_ranges);
  h.first_channel = h.slice ? d[prefix - L::kSliceBytes] : 0;
  if (h.first_channel + h.channels > L::kMaxDim)
    return FrameStatus::failure(FrameError::BadChannelRange,
                                "slice of channels " + std::to_string(h.first_channel) + ".." +
                                    std::to_string(h.first_channel + h.channels - 1) + " goes past channel 255");
  return {};
}

FrameStatus FrameDecoder::decode(const std::uint8_t *d, std::size_t size, FrameHeader &h, std::vector<float> &values) {
  FrameStatus st = parse_header(d, size, h);
  if (!st.ok()) return st;
  const std::size_t plane = std::size_t(h.height) * h.width;
  const std::size_t n = plane * h.channels;
  if (n > max_values_)
    return FrameStatus::failure(FrameError::TooLarge, "frame of " + dims(h.channels, h.height, h.width) +
                                                          " values exceeds this decoder's limit of " +
                                                          std::to_string(max_values_));
  const std::size_t raw_size = (n * std::size_t(h.bits) + 7) / 8;
  const std::uint8_t *ranges = d + L::kHeaderSize;
  const std::uint8_t *payload = d + (h.total_size - h.payload_length);

  const std::uint8_t *raw = payload;
  if (h.zstd) {
    const unsigned long long content = ZSTD_getFrameContentSize(payload, h.payload_length);
    if (content != raw_size)
      return FrameStatus::failure(FrameError::EntropyError, "zstd payload does not declare the expected " +
                                                                std::to_string(raw_size) + " decoded bytes");
    if (ZSTD_findFrameCompressedSize(payload, h.payload_length) != h.payload_length)
      return FrameStatus::failure(FrameError::EntropyError, "zstd payload has trailing or missing bytes");
    impl_->raw.resize(raw_size);
    const std::size_t got = ZSTD_decompressDCtx(impl_->dctx, impl_->raw.data(), raw_size, payload, h.payload_length);
    if (ZSTD_isError(got) || got != raw_size)
      return FrameStatus::failure(FrameError::EntropyError,
                                  std::string("zstd payload does not decode: ") +
                                      (ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short output"));
    raw = impl_->raw.data();
  } else if (h.payload_length != raw_size) {
    return FrameStatus::failure(FrameError::PayloadSizeMismatch, "payload holds " + std::to_string(h.payload_length) +
                                                                     " bytes; " + dims(h.channels, h.height, h.width) +
                                                                     " values at " + std::to_string(h.bits) +
                                                                     " bits need " + std::to_string(raw_size));
  }

  values.resize(n);
  const std::uint32_t levels = h.levels();
  std::uint64_t acc = 0;
  int have = 0;
  std::size_t byte = 0;
  const std::uint64_t mask = levels;
  for (int c = 0; c < h.channels; ++c) {
    const std::uint16_t lo_bits = get_u16(ranges + 4 * c), hi_bits = get_u16(ranges + 4 * c + 2);
    const float lo = half::to_float(lo_bits), hi = half::to_float(hi_bits);
    if (!half::is_finite(lo_bits) || !half::is_finite(hi_bits) || !(lo <= hi))
      return FrameStatus::failure(FrameError::BadChannelRange,
                                  "channel " + std::to_string(c) + " has an invalid range");
    const float step = (hi - lo) / float(levels);
    float *out = values.data() + std::size_t(c) * plane;
    if (h.bits == 8) {
      const std::uint8_t *src = raw + std::size_t(c) * plane;
      for (std::size_t i = 0; i < plane; ++i) out[i] = lo + float(src[i]) * step;
    } else if (h.bits == 16) {
      const std::uint8_t *src = raw + 2 * std::size_t(c) * plane;
      for (std::size_t i = 0; i < plane; ++i) out[i] = lo + float(get_u16(src + 2 * i)) * step;
    } else {
      for (std::size_t i = 0; i < plane; ++i) {
        while (have < h.bits) {
          acc |= std::uint64_t(raw[byte++]) << have;
          have += 8;
        }
        out[i] = lo + float(std::uint32_t(acc & mask)) * step;
        acc >>= h.bits;
        have -= h.bits;
      }
    }
  }
  if (h.bits != 8 && h.bits != 16 && acc != 0)
    return FrameStatus::failure(FrameError::NonZeroPadding, "padding bits after the last code are not zero");
  return {};
}

}  // namespace rtcoinfer

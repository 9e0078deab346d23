// The model's input normalization, the one definition for the elements, the trainer and
// the tools: HWC uint8 pixels (already at the model's size) -> CHW float,
// x * (1 / (255 std)) - mean / std, computed exactly this way everywhere so that their
// tensors are bit-identical.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bundle/manifest.h"

namespace rtcoinfer {

// `rows[y]` is row y of the image: in.width pixels of in.channels interleaved bytes.
// `dst` receives in.channels planes of in.width x in.height floats.
struct ChannelNorm {
  float scale, shift;  // value = pixel * scale - shift
  float operator()(std::uint8_t pixel) const { return float(pixel) * scale - shift; }
};
inline ChannelNorm channel_norm(float mean, float std) { return {1.0f / (255.0f * std), mean / std}; }

template <typename RowAt>
void normalize_input(const InputSpec &in, RowAt rows, float *dst) {
  const std::size_t plane = std::size_t(in.width) * std::size_t(in.height);
  for (int c = 0; c < in.channels; ++c) {
    const ChannelNorm norm = channel_norm(in.mean[c], in.std[c]);
    float *out = dst + std::size_t(c) * plane;
    for (int y = 0; y < in.height; ++y) {
      const std::uint8_t *row = rows(y);
      for (int x = 0; x < in.width; ++x) out[std::size_t(y) * in.width + x] = norm(row[x * in.channels + c]);
    }
  }
}

}  // namespace rtcoinfer

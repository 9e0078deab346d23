// The model's input transform, shared by rtcoinfer-head and the evaluation tools:
// HWC uint8 pixels (already at the model's size) -> CHW float, (x/255 - mean) / std.
#pragma once

#include <cstddef>
#include <cstdint>

#include "bundle/manifest.h"

namespace rtcoinfer {

// `rows[y]` is row y of the image: in.width pixels of in.channels interleaved bytes.
// `dst` receives in.channels planes of in.width x in.height floats.
template <typename RowAt>
void normalize_input(const InputSpec &in, RowAt rows, float *dst) {
  const std::size_t plane = std::size_t(in.width) * std::size_t(in.height);
  for (int c = 0; c < in.channels; ++c) {
    const float scale = 1.0f / (255.0f * in.std[c]), shift = in.mean[c] / in.std[c];
    float *out = dst + std::size_t(c) * plane;
    for (int y = 0; y < in.height; ++y) {
      const std::uint8_t *row = rows(y);
      for (int x = 0; x < in.width; ++x) out[std::size_t(y) * in.width + x] = row[x * in.channels + c] * scale - shift;
    }
  }
}

}  // namespace rtcoinfer

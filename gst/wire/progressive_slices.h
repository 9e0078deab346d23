// CLIO-style progressive slices (docs/wire-format.md, "Slices"): where a frame's
// channels are cut, and the slices' bytes. One implementation for rtcoinfer-slicer
// (which sends them), rtcoinfer-mpcrate (which must budget what is really sent) and
// rtcoinfer-tracesim (which simulates it).
#pragma once

#include <cstdint>
#include <vector>

#include "wire/feature_frame.h"

namespace rtcoinfer {

// Slice ends for a k-channel frame: the channel counts below k in `setup_channels` (the
// bundle's setups of the frame's bit depth, any order), then k. With no setups: 1, 2, 4...
std::vector<int> slice_ends(const std::vector<int> &setup_channels, int k);

// Encodes channels [0, ends.back()) of `values` (total_channels x height x width, as the
// decoder or the head gives them) as one slice per end, each a frame of its own with
// `base`'s id, sequence number, capture time and truth. `out` receives the slices.
FrameStatus encode_slices(FrameEncoder &encoder, const float *values, int total_channels, int height, int width,
                          int bits, const std::vector<int> &ends, EncodeParams base,
                          std::vector<std::vector<std::uint8_t>> &out);

}  // namespace rtcoinfer

#include "progressive_slices.h"

#include <algorithm>

namespace rtcoinfer {

std::vector<int> slice_ends(const std::vector<int> &setup_channels, int k) {
  std::vector<int> ends;
  if (setup_channels.empty()) {
    for (int e = 1; e < k; e *= 2) ends.push_back(e);
  } else {
    for (int c : setup_channels)
      if (c >= 1 && c < k) ends.push_back(c);
    std::sort(ends.begin(), ends.end());
    ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  }
  ends.push_back(k);
  return ends;
}

FrameStatus encode_slices(FrameEncoder &encoder, const float *values, int total_channels, int height, int width,
                          int bits, const std::vector<int> &ends, EncodeParams base,
                          std::vector<std::vector<std::uint8_t>> &out) {
  out.resize(ends.size());
  int first = 0;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    base.setup = Setup{0, ends[i] - first, bits};
    base.slice = EncodeParams::Slice{first, i + 1 == ends.size()};
    FrameStatus st = encoder.encode(values, total_channels, height, width, base, out[i]);
    if (!st.ok()) return st;
    first = ends[i];
  }
  return {};
}

}  // namespace rtcoinfer

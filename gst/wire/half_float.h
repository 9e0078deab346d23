// IEEE 754 binary16 helpers for the feature frame's per-channel ranges.
//
// Ranges are rounded *outward* (min down, max up) so every value of the channel stays
// inside the transmitted range; the quantization step then widens by at most one
// binary16 ulp at each end instead of shifting values by it.
#pragma once

#include <cstdint>

namespace rtcoinfer::half {

constexpr float kMax = 65504.0f;  // largest finite binary16

float to_float(std::uint16_t h);
bool is_finite(std::uint16_t h);
// Largest binary16 <= x. Requires -kMax <= x (and x finite).
std::uint16_t round_down(float x);
// Smallest binary16 >= x. Requires x <= kMax (and x finite).
std::uint16_t round_up(float x);

}  // namespace rtcoinfer::half

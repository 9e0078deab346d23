#include "half_float.h"

#include <cmath>
#include <cstring>

namespace rtcoinfer::half {

float to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t man = h & 0x3ffu;
  float magnitude;
  if (exp == 0)
    magnitude = std::ldexp(float(man), -24);  // zero and subnormals
  else if (exp == 31)
    magnitude = man ? NAN : INFINITY;
  else
    magnitude = std::ldexp(float(man | 0x400u), int(exp) - 25);
  std::uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

bool is_finite(std::uint16_t h) { return ((h >> 10) & 0x1fu) != 0x1fu; }

// Finite binary16 values in increasing order are ranks 0..63487: ranks below 31744 are
// negative (magnitude bits 31743 - rank), the rest non-negative (bits rank - 31744).
// Searching over ranks gives exact directed rounding with no bit tricks to get wrong.
static constexpr int kRanks = 63488;
static constexpr int kNegRanks = 31744;

static std::uint16_t bits_of_rank(int r) {
  return r < kNegRanks ? std::uint16_t(0x8000u | std::uint16_t(kNegRanks - 1 - r)) : std::uint16_t(r - kNegRanks);
}

std::uint16_t round_down(float x) {
  // largest rank with value <= x
  int lo = 0, hi = kRanks - 1;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (to_float(bits_of_rank(mid)) <= x)
      lo = mid;
    else
      hi = mid - 1;
  }
  return bits_of_rank(lo);
}

std::uint16_t round_up(float x) {
  // smallest rank with value >= x
  int lo = 0, hi = kRanks - 1;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (to_float(bits_of_rank(mid)) >= x)
      hi = mid;
    else
      lo = mid + 1;
  }
  return bits_of_rank(lo);
}

}  // namespace rtcoinfer::half

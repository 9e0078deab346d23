// SetupTable: the compression setups an SW-CNN serves, in the paper's index order.
//
// A setup is (channels kept, bits per value). Bits b means L = 2^b - 1 quantization
// levels, so the paper's level counts 65535/255/15/3/1 are 16/8/4/2/1 bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcoinfer {

struct Setup {
  int index = -1;    // position in its table; -1 when not part of one
  int channels = 0;  // k: the first k partition-layer channels are sent
  int bits = 0;      // 1..16

  std::uint32_t levels() const { return (1u << bits) - 1u; }
  // Text form "<channels>x<bits>", e.g. "32x8".
  std::string name() const;
  // Raw (uncoded) payload size in bytes for an H x W partition output.
  std::size_t packed_bytes(int height, int width) const;
  bool operator==(const Setup &o) const { return channels == o.channels && bits == o.bits; }
};

// Parses "CxB" (e.g. "32x8", "1x1"). Returns nullopt and fills *error on bad text.
std::optional<Setup> parse_setup(std::string_view text, std::string *error = nullptr);

class SetupTable {
 public:
  // The paper's channel fractions and bit depths.
  static constexpr int kFractionCount = 10;
  static constexpr int kBitsCount = 5;
  static const int kBits[kBitsCount];             // {16, 8, 4, 2, 1}
  static const int kFractionNum[kFractionCount];  // over kFractionDen
  static constexpr int kFractionDen = 32;

  // The 50 reference setups for a partition layer of `total_channels` channels:
  // index = fraction_index * 5 + bits_index, channels = max(1, round(C * fraction)).
  static SetupTable reference(int total_channels);
  // An explicit list (e.g. read from a model bundle). Indices are reassigned 0..n-1.
  static SetupTable from_list(int total_channels, std::vector<Setup> setups);

  int total_channels() const { return total_channels_; }
  std::size_t size() const { return setups_.size(); }
  const Setup &at(std::size_t i) const { return setups_.at(i); }
  const std::vector<Setup> &all() const { return setups_; }

  // The setup with these channels and bits, if the table has it.
  std::optional<Setup> find(int channels, int bits) const;
  // Parses "CxB" and looks it up; error text names the valid range when absent.
  std::optional<Setup> lookup(std::string_view text, std::string *error = nullptr) const;
  // Most bytes (all channels, most bits) and fewest bytes.
  const Setup &largest() const;
  const Setup &smallest() const;

 private:
  int total_channels_ = 0;
  std::vector<Setup> setups_;
};

}  // namespace rtcoinfer

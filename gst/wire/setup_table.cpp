#include "setup_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace rtcoinfer {

const int SetupTable::kBits[SetupTable::kBitsCount] = {16, 8, 4, 2, 1};
const int SetupTable::kFractionNum[SetupTable::kFractionCount] = {1, 2, 3, 4, 5, 6, 7, 8, 16, 32};

std::string Setup::name() const { return std::to_string(channels) + "x" + std::to_string(bits); }

std::size_t Setup::packed_bytes(int height, int width) const {
  const std::uint64_t values = std::uint64_t(channels) * std::uint64_t(height) * std::uint64_t(width);
  return static_cast<std::size_t>((values * std::uint64_t(bits) + 7) / 8);
}

static bool parse_int(std::string_view s, int &out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::optional<Setup> parse_setup(std::string_view text, std::string *error) {
  auto fail = [&](const std::string &why) -> std::optional<Setup> {
    if (error) *error = "invalid setup \"" + std::string(text) + "\": " + why;
    return std::nullopt;
  };
  const auto x = text.find('x');
  if (x == std::string_view::npos) return fail("expected <channels>x<bits>, e.g. 32x8");
  Setup s;
  if (!parse_int(text.substr(0, x), s.channels) || !parse_int(text.substr(x + 1), s.bits))
    return fail("expected <channels>x<bits>, e.g. 32x8");
  if (s.channels < 1 || s.channels > 256) return fail("channels must be 1..256");
  if (s.bits < 1 || s.bits > 16) return fail("bits must be 1..16");
  return s;
}

SetupTable SetupTable::reference(int total_channels) {
  if (total_channels < 1 || total_channels > 256)
    throw std::invalid_argument("partition layer must have 1..256 channels");
  std::vector<Setup> setups;
  for (int f = 0; f < kFractionCount; ++f) {
    const int k = std::max(1, static_cast<int>(std::lround(double(total_channels) * kFractionNum[f] / kFractionDen)));
    for (int b = 0; b < kBitsCount; ++b) setups.push_back(Setup{0, k, kBits[b]});
  }
  return from_list(total_channels, std::move(setups));
}

SetupTable SetupTable::from_list(int total_channels, std::vector<Setup> setups) {
  if (setups.empty()) throw std::invalid_argument("setup list is empty");
  for (std::size_t i = 0; i < setups.size(); ++i) {
    auto &s = setups[i];
    if (s.channels < 1 || s.channels > total_channels || s.bits < 1 || s.bits > 16)
      throw std::invalid_argument("setup " + s.name() + " does not fit a " + std::to_string(total_channels) +
                                  "-channel partition layer");
    s.index = static_cast<int>(i);
  }
  SetupTable t;
  t.total_channels_ = total_channels;
  t.setups_ = std::move(setups);
  return t;
}

std::optional<Setup> SetupTable::find(int channels, int bits) const {
  for (const auto &s : setups_)
    if (s.channels == channels && s.bits == bits) return s;
  return std::nullopt;
}

std::optional<Setup> SetupTable::lookup(std::string_view text, std::string *error) const {
  auto parsed = parse_setup(text, error);
  if (!parsed) return std::nullopt;
  auto found = find(parsed->channels, parsed->bits);
  if (!found && error)
    *error = "setup " + parsed->name() + " is not in this model's table (" + std::to_string(setups_.size()) +
             " setups, " + smallest().name() + " .. " + largest().name() + ")";
  return found;
}

static std::uint64_t cost(const Setup &s) { return std::uint64_t(s.channels) * std::uint64_t(s.bits); }

const Setup &SetupTable::largest() const {
  return *std::max_element(setups_.begin(), setups_.end(), [](const Setup &a, const Setup &b) {
    return cost(a) != cost(b) ? cost(a) < cost(b) : a.bits < b.bits;
  });
}

const Setup &SetupTable::smallest() const {
  return *std::min_element(setups_.begin(), setups_.end(), [](const Setup &a, const Setup &b) {
    return cost(a) != cost(b) ? cost(a) < cost(b) : a.bits < b.bits;
  });
}

}  // namespace rtcoinfer

// SHA-256 the way model bundles use it (docs/bundle-format.md): a bundle ends in the
// digest of everything before it, and its model id is that digest in lowercase hex.
// GLib's GChecksum; shared by the bundle writer and reader, the model fetcher and tests.
#pragma once

#include <glib.h>

#include <array>
#include <cstdint>
#include <string>

namespace rtcoinfer {

inline std::array<std::uint8_t, 32> sha256_digest(const std::uint8_t *data, std::size_t size) {
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, data, gssize(size));
  std::array<std::uint8_t, 32> digest{};
  gsize len = digest.size();
  g_checksum_get_digest(sum, digest.data(), &len);
  g_checksum_free(sum);
  return digest;
}

// n bytes as 2n lowercase hex digits.
inline std::string hex_string(const std::uint8_t *data, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

inline std::string sha256_hex(const std::uint8_t *data, std::size_t size) {
  const auto digest = sha256_digest(data, size);
  return hex_string(digest.data(), digest.size());
}

}  // namespace rtcoinfer

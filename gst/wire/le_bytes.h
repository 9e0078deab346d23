// Little-endian integer fields of the wire and bundle formats (docs/wire-format.md,
// docs/bundle-format.md): fixed-offset put/get, appending writers, and a bounds-checked
// reader. The one place these byte orders are written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rtcoinfer::le {

inline void put_u16(std::uint8_t *p, std::uint16_t v) {
  p[0] = std::uint8_t(v);
  p[1] = std::uint8_t(v >> 8);
}
inline void put_u24(std::uint8_t *p, std::uint32_t v) {
  put_u16(p, std::uint16_t(v));
  p[2] = std::uint8_t(v >> 16);
}
inline void put_u32(std::uint8_t *p, std::uint32_t v) {
  put_u16(p, std::uint16_t(v));
  put_u16(p + 2, std::uint16_t(v >> 16));
}
inline std::uint16_t get_u16(const std::uint8_t *p) { return std::uint16_t(p[0] | (p[1] << 8)); }
inline std::uint32_t get_u24(const std::uint8_t *p) { return get_u16(p) | (std::uint32_t(p[2]) << 16); }
inline std::uint32_t get_u32(const std::uint8_t *p) { return get_u16(p) | (std::uint32_t(get_u16(p + 2)) << 16); }

// Appends the low `bytes` bytes of v, least significant first.
inline void append(std::vector<std::uint8_t> &out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(std::uint8_t(v >> (8 * i)));
}

// Bounds-checked reader; every read names what it was reading, and running past the end
// throws std::runtime_error("truncated: <what>").
class Reader {
 public:
  Reader(const std::uint8_t *data, std::size_t size) : p_(data), n_(size) {}
  std::size_t left() const { return n_ - at_; }
  std::size_t offset() const { return at_; }
  const std::uint8_t *take(std::size_t count, const char *what) {
    if (count > left()) throw std::runtime_error(std::string("truncated: ") + what);
    const std::uint8_t *r = p_ + at_;
    at_ += count;
    return r;
  }
  std::uint64_t uint(int bytes, const char *what) {
    const std::uint8_t *b = take(std::size_t(bytes), what);
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(b[i]) << (8 * i);
    return v;
  }

 private:
  const std::uint8_t *p_;
  std::size_t n_, at_ = 0;
};

}  // namespace rtcoinfer::le

// Little-endian integer fields of the wire formats (docs/wire-format.md).
#pragma once

#include <cstdint>

namespace rtcoinfer::le {

inline void put_u16(std::uint8_t *p, std::uint16_t v) { p[0] = std::uint8_t(v); p[1] = std::uint8_t(v >> 8); }
inline void put_u24(std::uint8_t *p, std::uint32_t v) { put_u16(p, std::uint16_t(v)); p[2] = std::uint8_t(v >> 16); }
inline void put_u32(std::uint8_t *p, std::uint32_t v) { put_u16(p, std::uint16_t(v)); put_u16(p + 2, std::uint16_t(v >> 16)); }
inline std::uint16_t get_u16(const std::uint8_t *p) { return std::uint16_t(p[0] | (p[1] << 8)); }
inline std::uint32_t get_u24(const std::uint8_t *p) { return get_u16(p) | (std::uint32_t(p[2]) << 16); }
inline std::uint32_t get_u32(const std::uint8_t *p) { return get_u16(p) | (std::uint32_t(get_u16(p + 2)) << 16); }

}  // namespace rtcoinfer::le

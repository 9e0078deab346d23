#include "rtcp_app.h"

namespace rtcoinfer {

namespace {

void put32(std::uint8_t *p, std::uint32_t v) {
  p[0] = std::uint8_t(v >> 24);
  p[1] = std::uint8_t(v >> 16);
  p[2] = std::uint8_t(v >> 8);
  p[3] = std::uint8_t(v);
}

std::uint32_t get32(const std::uint8_t *p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}

}  // namespace

std::vector<std::uint8_t> FrameCountReport::encode() const {
  std::vector<std::uint8_t> out(kSize, 0);
  out[0] = std::uint8_t(first_seq >> 8);
  out[1] = std::uint8_t(first_seq);
  put32(out.data() + 4, numbered);
  put32(out.data() + 8, skipped);
  return out;
}

std::optional<FrameCountReport> FrameCountReport::decode(unsigned subtype, const std::uint8_t *data, std::size_t size) {
  if (!data || size != kSize || subtype > 1 || data[2] != 0 || data[3] != 0) return std::nullopt;
  FrameCountReport r;
  r.first_seq = std::uint16_t(data[0] << 8 | data[1]);
  r.numbered = get32(data + 4);
  r.skipped = get32(data + 8);
  r.final = subtype == 1;
  if (r.skipped > r.numbered) return std::nullopt;
  return r;
}

}  // namespace rtcoinfer

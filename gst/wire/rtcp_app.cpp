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

namespace rtcoinfer {

std::vector<std::uint8_t> ResultBatch::encode(const std::vector<ReturnedResult> &results) {
  std::vector<std::uint8_t> out;
  for (const ReturnedResult &r : results) {
    const double s = r.score < 0 ? 0 : r.score > 1 ? 1 : r.score;
    const auto score = std::uint16_t(s * 65535.0 + 0.5);
    const std::uint8_t e[kEntrySize] = {std::uint8_t(r.seq >> 8),
                                        std::uint8_t(r.seq),
                                        std::uint8_t(r.class_index >> 8),
                                        std::uint8_t(r.class_index),
                                        std::uint8_t(score >> 8),
                                        std::uint8_t(score),
                                        0,
                                        0,
                                        std::uint8_t(r.server_us >> 24),
                                        std::uint8_t(r.server_us >> 16),
                                        std::uint8_t(r.server_us >> 8),
                                        std::uint8_t(r.server_us)};
    out.insert(out.end(), e, e + kEntrySize);
  }
  return out;
}

std::optional<std::vector<ReturnedResult>> ResultBatch::decode(unsigned subtype, const std::uint8_t *data,
                                                               std::size_t size) {
  if (!data || subtype != 0 || size == 0 || size % kEntrySize || size / kEntrySize > kMaxEntries) return std::nullopt;
  std::vector<ReturnedResult> out;
  for (std::size_t at = 0; at < size; at += kEntrySize) {
    const std::uint8_t *e = data + at;
    if (e[6] || e[7]) return std::nullopt;
    ReturnedResult r;
    r.seq = std::uint16_t(e[0] << 8 | e[1]);
    r.class_index = std::uint16_t(e[2] << 8 | e[3]);
    r.score = double(std::uint16_t(e[4] << 8 | e[5])) / 65535.0;
    r.server_us = std::uint32_t(e[8]) << 24 | std::uint32_t(e[9]) << 16 | std::uint32_t(e[10]) << 8 | e[11];
    out.push_back(r);
  }
  return out;
}

}  // namespace rtcoinfer

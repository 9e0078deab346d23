#include "rtcp_app.h"

#include <algorithm>
#include <cmath>

namespace rtcoinfer {

namespace {

// RTCP's byte order: big-endian
void put16(std::uint8_t *p, std::uint16_t v) {
  p[0] = std::uint8_t(v >> 8);
  p[1] = std::uint8_t(v);
}

std::uint16_t get16(const std::uint8_t *p) { return std::uint16_t(p[0] << 8 | p[1]); }

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
  put16(out.data(), first_seq);
  put32(out.data() + 4, numbered);
  put32(out.data() + 8, skipped);
  return out;
}

std::optional<FrameCountReport> FrameCountReport::decode(unsigned subtype, const std::uint8_t *data, std::size_t size) {
  if (!data || size != kSize || subtype > 1 || data[2] != 0 || data[3] != 0) return std::nullopt;
  FrameCountReport r;
  r.first_seq = get16(data);
  r.numbered = get32(data + 4);
  r.skipped = get32(data + 8);
  r.final = subtype == 1;
  if (r.skipped > r.numbered) return std::nullopt;
  return r;
}

std::vector<std::uint8_t> AccountedReport::encode() const {
  std::vector<std::uint8_t> out(kSize, 0);
  put16(out.data(), horizon);
  put16(out.data() + 2, server_time);
  put32(out.data() + 4, accounted);
  return out;
}

std::uint16_t AccountedReport::server_time_of(double ms) {
  if (!(ms > 0)) return 1;  // measured, and under one step
  const double steps = std::ceil(ms * 1000.0 / kServerTimeStepUs);
  return steps >= 65535.0 ? std::uint16_t(65535) : std::uint16_t(std::max(1.0, steps));
}

std::optional<AccountedReport> AccountedReport::decode(unsigned subtype, const std::uint8_t *data, std::size_t size) {
  if (!data || size != kSize || subtype > 1) return std::nullopt;
  AccountedReport r;
  r.horizon = get16(data);
  r.server_time = get16(data + 2);
  r.accounted = get32(data + 4);
  r.final = subtype == 1;
  return r;
}

std::vector<std::uint8_t> ResultBatch::encode(const std::vector<ReturnedResult> &results) {
  std::vector<std::uint8_t> out(results.size() * kEntrySize, 0);
  std::uint8_t *e = out.data();
  for (const ReturnedResult &r : results) {
    const double score = r.score < 0 ? 0 : r.score > 1 ? 1 : r.score;
    put16(e, r.seq);
    put16(e + 2, r.class_index);
    put16(e + 4, std::uint16_t(score * 65535.0 + 0.5));  // e[6], e[7]: reserved, 0
    put32(e + 8, r.server_us);
    e += kEntrySize;
  }
  return out;
}

std::optional<std::vector<ReturnedResult>> ResultBatch::decode(unsigned subtype, const std::uint8_t *data,
                                                               std::size_t size) {
  if (!data || subtype != 0 || size == 0 || size % kEntrySize || size / kEntrySize > kMaxEntries) return std::nullopt;
  std::vector<ReturnedResult> out;
  for (const std::uint8_t *e = data; e < data + size; e += kEntrySize) {
    if (e[6] || e[7]) return std::nullopt;
    out.push_back({get16(e), get16(e + 2), double(get16(e + 4)) / 65535.0, get32(e + 8)});
  }
  return out;
}

}  // namespace rtcoinfer

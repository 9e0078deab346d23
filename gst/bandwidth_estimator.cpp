#include "bandwidth_estimator.h"

#include <algorithm>
#include <cmath>

namespace rtcoinfer {

BandwidthEstimator::BandwidthEstimator(EstimatorConfig config) : cfg_(config) {}

std::optional<double> BandwidthEstimator::estimate_bps() const {
  if (samples_.empty()) return std::nullopt;
  double inv = 0;
  for (double s : samples_) inv += 1.0 / s;
  return double(samples_.size()) / inv;
}

std::optional<double> BandwidthEstimator::forecast_bps() const {
  const auto harmonic = estimate_bps();
  if (!harmonic) return std::nullopt;
  // After a step the relative error of the old forecast can be 100x; capped at 1 the
  // discount still halves the estimate without starving the controller.
  const double max_err = errors_.empty() ? 0.0 : *std::max_element(errors_.begin(), errors_.end());
  return *harmonic / (1.0 + std::min(max_err, cfg_.max_error));
}

void BandwidthEstimator::add_sample(double bps) {
  if (!(bps > 0) || !std::isfinite(bps)) return;
  bps = std::min(bps, cfg_.max_rate_bps);
  if (auto f = forecast_bps()) {
    errors_.push_back(std::fabs(*f - bps) / bps);
    while (int(errors_.size()) > cfg_.window) errors_.pop_front();
  }
  samples_.push_back(bps);
  while (int(samples_.size()) > cfg_.window) samples_.pop_front();
  ++total_samples_;
}

void BandwidthEstimator::add_rate_sample(double bps) { add_sample(bps); }

void BandwidthEstimator::add_rr(double rtt_s, double fraction_lost) {
  if (rtt_s > 0 && std::isfinite(rtt_s)) rtt_s_ = rtt_s;
  if (fraction_lost >= 0 && fraction_lost <= 1) loss_ = fraction_lost;
}

void BandwidthEstimator::add_twcc(const std::vector<PacketReport> &packets) {
  std::vector<PacketReport> got;
  got.reserve(packets.size());
  std::size_t lost = 0;
  for (const auto &p : packets) {
    if (p.lost()) { ++lost; continue; }
    if (p.send_ns < 0) continue;
    got.push_back(p);
  }
  if (!packets.empty()) loss_ = double(lost) / double(packets.size());
  if (got.empty()) return;
  std::sort(got.begin(), got.end(), [](const PacketReport &a, const PacketReport &b) { return a.send_ns < b.send_ns; });
  got.erase(std::unique(got.begin(), got.end(), [](const PacketReport &a, const PacketReport &b) { return a.seqnum == b.seqnum; }),
            got.end());

  // queueing delay from one-way delay above its minimum (clock offsets cancel)
  for (const auto &p : got) {
    const std::int64_t owd = p.arrival_ns - p.send_ns;
    if (!base_owd_ns_ || owd < *base_owd_ns_) base_owd_ns_ = owd;
  }
  queue_delay_s_ = double(got.back().arrival_ns - got.back().send_ns - *base_owd_ns_) / 1e9;

  // one sample per train of back-to-back packets
  std::size_t start = 0;
  for (std::size_t i = 1; i <= got.size(); ++i) {
    if (i < got.size() && got[i].send_ns - got[i - 1].send_ns < cfg_.train_gap_ns) continue;
    if (i - start >= 2) {
      std::int64_t first = got[start].arrival_ns, last = first;
      std::uint64_t bytes = 0;
      for (std::size_t j = start; j < i; ++j) {
        first = std::min(first, got[j].arrival_ns);
        last = std::max(last, got[j].arrival_ns);
        if (j > start) bytes += got[j].size;
      }
      const std::int64_t span = last - first;
      if (span >= cfg_.min_span_ns && bytes >= cfg_.min_train_bytes)
        add_sample(double(bytes) * 8.0 * 1e9 / double(span));
    }
    start = i;
  }
}

}  // namespace rtcoinfer

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
    errors_.push_back(std::max(0.0, *f - bps) / bps);
    while (int(errors_.size()) > cfg_.window) errors_.pop_front();
  }
  samples_.push_back(bps);
  while (int(samples_.size()) > cfg_.window) samples_.pop_front();
  ++total_samples_;
}

void BandwidthEstimator::add_rate_sample(double bps) { add_sample(bps); }

void BandwidthEstimator::restart_window() {
  while (samples_.size() > 1) samples_.pop_front();
  errors_.clear();
}

void BandwidthEstimator::add_rr(double rtt_s, double fraction_lost) {
  if (rtt_s > 0 && std::isfinite(rtt_s)) rtt_s_ = rtt_s;
  if (!(fraction_lost >= 0 && fraction_lost <= 1)) return;
  loss_ = fraction_lost;
  if (!twcc_seen_) smoothed_loss_ = fraction_lost;  // already a mean; TWCC's per-packet one is finer
}

void BandwidthEstimator::add_twcc(const std::vector<PacketReport> &packets) {
  std::vector<PacketReport> got;
  got.reserve(packets.size());
  std::size_t lost = 0;
  for (const auto &p : packets) {
    if (p.lost()) {
      ++lost;
      continue;
    }
    if (p.send_ns < 0) continue;
    got.push_back(p);
  }
  if (!packets.empty()) {
    twcc_seen_ = true;
    loss_ = double(lost) / double(packets.size());
    // the per-packet average, n packets at once
    const double keep = std::pow(1.0 - cfg_.loss_weight, double(packets.size()));
    smoothed_loss_ = keep * smoothed_loss_ + (1.0 - keep) * loss_;
  }
  if (got.empty()) return;
  std::sort(got.begin(), got.end(), [](const PacketReport &a, const PacketReport &b) { return a.send_ns < b.send_ns; });
  got.erase(std::unique(got.begin(), got.end(),
                        [](const PacketReport &a, const PacketReport &b) { return a.seqnum == b.seqnum; }),
            got.end());

  // queueing delay from one-way delay above its minimum (clock offsets cancel)
  for (const auto &p : got) {
    const std::int64_t owd = p.arrival_ns - p.send_ns;
    if (!base_owd_ns_ || owd < *base_owd_ns_) base_owd_ns_ = owd;
  }
  queue_delay_s_ = double(got.back().arrival_ns - got.back().send_ns - *base_owd_ns_) / 1e9;

  // Busy periods of the bottleneck: packets that left back to back (one frame's train)
  // or that were sent while the previous packet was still on its way through the
  // bottleneck (its arrival minus the base one-way delay, in the sender's clock, is
  // after this packet's send time) kept the link busy since the previous arrival, so
  // bytes over the arrival span is its rate. (A one-way delay above the minimum is no
  // proof of a queue: on a slow link a larger packet's own serialization raises it, and
  // counting such packets as busy makes the estimate follow the sending rate down.)
  // The period carries over from one feedback batch to the next: after a drop the frames
  // shrink to one packet each and a batch holds only a few of them. A long period yields
  // a sample every sample_bytes, or every sample_span.
  const std::size_t samples_before = total_samples_;
  for (const auto &p : got) {
    if (run_last_ && p.seqnum == run_last_->seqnum) continue;
    const bool waited = run_last_ && run_last_->arrival_ns - *base_owd_ns_ > p.send_ns;
    const bool continues = run_last_ && p.arrival_ns >= run_last_->arrival_ns &&
                           (p.send_ns - run_last_->send_ns < cfg_.train_gap_ns || waited);
    if (!continues) {
      close_run();
      run_first_arrival_ns_ = p.arrival_ns;
      run_bytes_ = 0;
    } else {
      run_bytes_ += p.size;
    }
    run_last_ = p;
    if (run_bytes_ >= cfg_.sample_bytes || p.arrival_ns - run_first_arrival_ns_ >= cfg_.sample_span_ns) close_run();
  }
  // (Only once there is an estimate: as the very first sample, a packet that a token
  // bucket let through at line rate set the forecast to 20 times the link.)
  if (cfg_.floor_slack_s > 0 && total_samples_ == samples_before && estimate_bps() &&
      *estimate_bps() < cfg_.floor_below_bps) {
    double floor = 0;
    for (const auto &p : got) {
      const double excess = double(p.arrival_ns - p.send_ns - *base_owd_ns_) / 1e9;
      floor = std::max(floor, double(p.size) * 8.0 / (std::max(0.0, excess) + cfg_.floor_slack_s));
    }
    if (floor > estimate_bps().value_or(0)) add_sample(floor);
  }
}

void BandwidthEstimator::close_run() {
  if (!run_last_) return;
  const std::int64_t span = run_last_->arrival_ns - run_first_arrival_ns_;
  if (span >= cfg_.min_span_ns && (run_bytes_ >= cfg_.min_train_bytes || span >= cfg_.timed_span_ns))
    add_sample(double(run_bytes_) * 8.0 * 1e9 / double(span));
  // the last packet starts the next period
  run_first_arrival_ns_ = run_last_->arrival_ns;
  run_bytes_ = 0;
}

}  // namespace rtcoinfer

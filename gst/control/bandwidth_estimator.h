// BandwidthEstimator: delivery rate, queueing delay and RTT from the feedback rtpbin
// already produces (TWCC packet reports; RTCP receiver reports where TWCC is absent),
// and a robust forecast for the controller.
//
// Rate samples come from busy periods of the bottleneck: the packets of one feature
// frame leave back to back (packet-pair dispersion), and packets that found a queue
// arrive back to back too. A period's sample is the bytes after its first packet over
// its arrival span. The forecast is RobustMPC's: the harmonic mean of the
// recent samples divided by (1 + the largest recent relative forecast error, capped).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace rtcoinfer {

struct PacketReport {
  std::uint16_t seqnum = 0;
  std::int64_t send_ns = -1;     // sender clock; -1 if unknown
  std::int64_t arrival_ns = -1;  // receiver clock; -1 if lost
  std::uint32_t size = 0;        // bytes on the wire (RTP packet)
  bool lost() const { return arrival_ns < 0; }
};

struct EstimatorConfig {
  int window = 5;                           // samples in the harmonic mean and error window (RobustMPC: 5)
  std::int64_t train_gap_ns = 1000000;      // packets sent closer than this belong to one train
  std::int64_t min_span_ns = 20000;         // shorter arrival spans carry no rate information
  std::uint64_t min_train_bytes = 1000;     // TWCC times come in 250 us steps: small trains are noise
  std::uint64_t sample_bytes = 4000;        // a busy period yields a sample every this many bytes
  std::int64_t sample_span_ns = 150000000;  // ... or every this long, so slow links are measured too
  std::int64_t timed_span_ns = 4000000;     // smaller trains count when they span this long (16 TWCC steps)
  double max_rate_bps = 10e9;               // cap for spans at the clock's resolution
  double max_error = 1.0;                   // cap of the relative-error discount
  // A packet that got through with `d` seconds of delay above the base one-way delay was
  // serialized within d + floor_slack_s, so the link carries at least size / (d + slack).
  // When a batch yields no rate sample and the estimate is below floor_below_bps, that
  // floor becomes one if it is above the estimate: single small packets (a starved
  // stream after an outage) would otherwise never show that the link came back. Only
  // below floor_below_bps: behind a token bucket (tc tbf, policers) a single packet
  // passes at line rate and its floor overstates the rate; used at any estimate, the
  // floor cost 12 points over the traces behind a tbf-like link (docs/rate-control.md).
  // RateSession sets floor_below_bps to twice what the smallest setup needs.
  double floor_slack_s = 0.010;
  double floor_below_bps = 0;  // 0: never
  // Weight of one reported packet in the smoothed loss: about the last 1/loss_weight
  // packets count (a feedback batch holds a few, so its own fraction swings 0 to 1).
  double loss_weight = 0.02;
};

class BandwidthEstimator {
 public:
  explicit BandwidthEstimator(EstimatorConfig config = {});

  // One TWCC feedback batch (packets in any order; duplicates are ignored).
  void add_twcc(const std::vector<PacketReport> &packets);
  // An RTCP receiver-report sample: round trip (seconds) and fraction lost (0..1).
  void add_rr(double rtt_s, double fraction_lost);
  // A delivery-rate sample measured by other means (bits per second).
  void add_rate_sample(double bps);

  // Keeps only the latest sample and forgets the recent errors: for when the samples
  // before it are too old to describe the link.
  void restart_window();

  // Harmonic mean of the recent samples (bits per second): the rate estimate.
  std::optional<double> estimate_bps() const;
  // Robust forecast: the estimate / (1 + largest recent relative error); nullopt until
  // the first sample.
  std::optional<double> forecast_bps() const;
  double last_sample_bps() const { return samples_.empty() ? 0 : samples_.back(); }
  // Current queueing delay: one-way delay of the latest packet above the minimum seen.
  double queue_delay_s() const { return queue_delay_s_; }
  double rtt_s() const { return rtt_s_; }
  // Lost fraction of the newest feedback batch (or receiver report).
  double loss_fraction() const { return loss_; }
  // Lost fraction of about the last 1 / loss_weight packets: what the plan assumes.
  double smoothed_loss() const { return smoothed_loss_; }
  std::size_t samples() const { return total_samples_; }

 private:
  void add_sample(double bps);
  void close_run();
  EstimatorConfig cfg_;
  std::deque<double> samples_;
  std::deque<double> errors_;  // |forecast - sample| / sample of recent samples
  std::size_t total_samples_ = 0;
  std::optional<std::int64_t> base_owd_ns_;
  // the busy period in progress
  std::optional<PacketReport> run_last_;
  std::int64_t run_first_arrival_ns_ = 0;
  std::uint64_t run_bytes_ = 0;
  double queue_delay_s_ = 0, rtt_s_ = 0, loss_ = 0, smoothed_loss_ = 0;
  bool twcc_seen_ = false;
};

}  // namespace rtcoinfer

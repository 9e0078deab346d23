// RateSession: the rate-control loop of one stream, clock-agnostic.
//
// It joins the BandwidthEstimator (fed with feedback) and the MpcController (asked once
// per coded frame) with the bookkeeping between them: bytes in flight since the last
// feedback, the queue that feedback showed and how far the link drained it since, the
// smoothed frame interval, the setup last asked upstream, probing, and the counters.
// rtcoinfer-mpcrate runs it on the monotonic clock; rtcoinfer-tracesim runs the very
// same code on simulated time, so the trace study measures the element's behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "control/bandwidth_estimator.h"
#include "control/mpc_controller.h"
#include "wire/setup_table.h"

namespace rtcoinfer {

struct ProbeConfig {
  // When no rate sample arrived for `stale_s` while the bottleneck held no queue, the
  // forecast is stale: small single-packet frames never fill the link, so they cannot
  // tell that it got faster. The controller then plans with the forecast raised by
  // `gain_per_s` per second of staleness (at most `max_gain` times) until a sample comes
  // back - gently, since a probe that overshoots queues frames behind it - from
  // a bigger setup that either fits (the link recovered) or queues and so produces the
  // sample that corrects the forecast. The first sample after such a gap restarts the
  // estimator's window: the samples before it describe a link that has moved on.
  // Likewise one frame per `stale_s` is sent although predicted late while no feedback
  // comes: otherwise a forecast that only sending can correct would stay wrong forever.
  // 0 disables both.
  double stale_s = 1.0;
  double gain_per_s = 0.25;
  double max_gain = 2.0;
  double quiet_queue_s = 0.005;  // "no queue": feedback showed at most this queue delay (or half a frame interval)
  double silence_s =
      0.1;  // two or more frames sent since the last feedback drain (and count as quiet) for at most this long
};

struct FrameOutcome {
  Decision decision;  // decision.skip: drop this frame
  int request = -1;   // profile index for the frames that follow
  bool request_changed = false;
  double queued_bytes = 0;  // estimated bottleneck queue before this frame
  double planned_bps = 0;   // the bandwidth the controller planned with (forecast, probing included)
};

struct RateSessionStats {
  std::uint64_t frames = 0, skips = 0, switches = 0, feedback = 0;
  std::uint64_t probes = 0;            // frames planned with a raised forecast, or sent although predicted late
  std::uint64_t protected_frames = 0;  // frames sent with their ULPFEC copies (Decision::fec)
  double decide_us_total = 0, decide_us_max = 0;
};

class RateSession {
 public:
  RateSession(std::vector<SetupProfile> profiles, MpcConfig config, EstimatorConfig estimator = {},
              ProbeConfig probe = {});

  // One TWCC feedback batch, received at `now_s`.
  void on_twcc(const std::vector<PacketReport> &packets, double now_s);
  void on_receiver_report(double rtt_s, double fraction_lost);
  // A coded frame of `bytes` leaves for the link at `now_s`. `pts_s`: its stream time
  // (smooths the frame interval), `coded`: the setup it was coded at (refines that
  // setup's byte mean). Decides whether to send it and which setup the next frames use.
  FrameOutcome on_frame(double now_s, std::optional<double> pts_s, std::optional<Setup> coded, double bytes);

  const MpcController &controller() const { return controller_; }
  void set_config(const MpcConfig &c) { controller_.set_config(c); }
  const BandwidthEstimator &estimator() const { return estimator_; }
  const RateSessionStats &stats() const { return stats_; }
  const Decision &last() const { return last_; }
  int requested() const { return requested_; }

 private:
  MpcController controller_;
  BandwidthEstimator estimator_;
  ProbeConfig probe_;
  RateSessionStats stats_;
  Decision last_;
  double unacked_bytes_ = 0;       // sent since the last feedback
  int unacked_frames_ = 0;         // frames sent since the last feedback
  double queued_at_feedback_ = 0;  // bottleneck queue (bytes) the last feedback showed
  std::optional<double> feedback_s_, last_pts_s_, forced_send_s_;
  std::optional<double> unacked_since_s_;  // when the oldest bytes not yet in feedback were sent
  std::size_t samples_seen_ = 0;
  double last_sample_s_ = 0;
  int requested_ = -1;
};

}  // namespace rtcoinfer

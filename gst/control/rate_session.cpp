#include "rate_session.h"

#include <algorithm>
#include <cmath>

namespace rtcoinfer {

namespace {

// The estimator's delivery-rate floor is an outage breaker only: it applies below
// twice what the smallest setup needs at the frame rate (with 28 header bytes).
EstimatorConfig with_floor_limit(EstimatorConfig e, const std::vector<SetupProfile> &profiles,
                                 const MpcConfig &config) {
  if (e.floor_below_bps > 0 || profiles.empty() || !(config.frame_interval_s > 0)) return e;
  double smallest = profiles.front().bytes;
  for (const auto &p : profiles) smallest = std::min(smallest, p.bytes);
  e.floor_below_bps = 2.0 * (smallest + 28.0) * 8.0 / config.frame_interval_s;
  return e;
}

}  // namespace

RateSession::RateSession(std::vector<SetupProfile> profiles, MpcConfig config, EstimatorConfig estimator,
                         ProbeConfig probe)
    : controller_(profiles, config), estimator_(with_floor_limit(estimator, profiles, config)), probe_(probe) {}

void RateSession::on_twcc(const std::vector<PacketReport> &packets, double now_s) {
  estimator_.add_twcc(packets);
  unacked_bytes_ = 0;
  unacked_frames_ = 0;
  unacked_since_s_.reset();
  queued_at_feedback_ = estimator_.queue_delay_s() * estimator_.forecast_bps().value_or(0) / 8.0;
  feedback_s_ = now_s;
  if (estimator_.samples() != samples_seen_) {
    if (probe_.stale_s > 0 && now_s - last_sample_s_ > probe_.stale_s) estimator_.restart_window();
    samples_seen_ = estimator_.samples();
    last_sample_s_ = now_s;
  }
  stats_.feedback++;
}

void RateSession::on_receiver_report(double rtt_s, double fraction_lost) { estimator_.add_rr(rtt_s, fraction_lost); }

FrameOutcome RateSession::on_frame(double now_s, std::optional<double> pts_s, std::optional<Setup> coded,
                                   double bytes) {
  FrameOutcome out;
  if (pts_s) {
    if (last_pts_s_ && *pts_s > *last_pts_s_) {
      MpcConfig cfg = controller_.config();
      cfg.frame_interval_s = 0.8 * cfg.frame_interval_s + 0.2 * (*pts_s - *last_pts_s_);
      controller_.set_config(cfg);
    }
    last_pts_s_ = pts_s;
  }
  if (coded)
    if (auto idx = controller_.find(*coded)) controller_.observe_bytes(*idx, bytes);

  // In flight: the queue the last feedback showed plus what was sent since, minus what
  // the link drained meanwhile. Without the drain term a run of skipped frames (which
  // sends nothing, so brings no feedback) would freeze the last queue estimate forever.
  // But the link is trusted to drain only the queue it showed plus `silence_s`: feedback
  // that stops coming while frames go out is itself the sign of a link that slowed down
  // (its packets are stuck in the queue), and draining at the old rate hid a 4x drop for
  // 400 ms in the rate-step test. That sign needs two or more frames sent since the last
  // feedback: rtpsession reports a packet early when a later one arrives, otherwise only
  // with its next regular RTCP packet, which for a small stream comes up to a second
  // later - so the feedback for the last frame before a run of skips is late by design,
  // and holding its bytes in flight kept the controller skipping until a forced send
  // (seen live at 60 kbit/s). The rate is the (discounted) forecast, not the plain
  // estimate: right after a drop the estimate still averages in samples from before it,
  // and draining at it declared the queue empty while frames queued before the drop
  // were still in it.
  const double rate = estimator_.forecast_bps().value_or(0);
  double elapsed_s = feedback_s_ ? std::max(0.0, now_s - *feedback_s_) : 0.0;
  const bool overdue = unacked_frames_ >= 2;
  if (rate > 0 && overdue) elapsed_s = std::min(elapsed_s, queued_at_feedback_ * 8.0 / rate + probe_.silence_s);
  out.queued_bytes = std::max(0.0, queued_at_feedback_ + unacked_bytes_ - elapsed_s * rate / 8.0);

  // Quiet link: the latest feedback's last packet met no more queue than half a frame
  // interval (the link empties between frames: the stream, not the link, limits what the
  // estimator can measure), and no frames sent wait for feedback longer than silence_s
  // (two or more of them, as above).
  // Judged on what the feedback showed, not on the bytes sent since: those are always in
  // flight for a moment, and counting them switched probing off after every bigger
  // frame, so the plan flapped between the forecast and the probe and the setup between
  // the largest and the smallest.
  std::optional<double> plan_bps = estimator_.forecast_bps();
  const double quiet_s = std::max(probe_.quiet_queue_s, 0.5 * controller_.config().frame_interval_s);
  const bool waiting = overdue && now_s - *unacked_since_s_ > probe_.silence_s;
  const bool quiet = !waiting && estimator_.queue_delay_s() < quiet_s;
  bool probing = false;
  if (plan_bps && probe_.stale_s > 0 && quiet && now_s - last_sample_s_ > probe_.stale_s) {
    const double stale = now_s - last_sample_s_ - probe_.stale_s;
    *plan_bps *= std::min(probe_.max_gain, 1.0 + probe_.gain_per_s * stale);
    probing = true;
  }
  out.planned_bps = plan_bps.value_or(0);
  if (MpcConfig c = controller_.config(); c.loss != estimator_.smoothed_loss()) {
    c.loss = estimator_.smoothed_loss();
    controller_.set_config(c);
  }
  out.decision = controller_.decide(out.queued_bytes, bytes, plan_bps, estimator_.rtt_s());
  // Sent although predicted late: nothing else would bring the feedback that can
  // correct the prediction.
  // (At most one such frame per stale_s: frames lost on the link may never be reported,
  // so "nothing unacknowledged" cannot be the condition.)
  if (out.decision.skip && probe_.stale_s > 0 && (!feedback_s_ || now_s - *feedback_s_ > probe_.stale_s) &&
      (!forced_send_s_ || now_s - *forced_send_s_ >= probe_.stale_s)) {
    out.decision.skip = false;
    forced_send_s_ = now_s;
    probing = true;
  }
  if (probing) stats_.probes++;
  const Decision &d = out.decision;
  stats_.frames++;
  stats_.decide_us_total += d.decide_us;
  stats_.decide_us_max = std::max(stats_.decide_us_max, d.decide_us);
  last_ = d;
  const int want = d.index;
  if (want != requested_) {
    if (requested_ >= 0) stats_.switches++;
    requested_ = want;
    out.request_changed = true;
  }
  out.request = requested_;
  if (d.skip) {
    stats_.skips++;
  } else {
    if (!unacked_since_s_) unacked_since_s_ = now_s;
    unacked_bytes_ += controller_.wire_bytes(bytes, d.fec);
    if (d.fec) stats_.protected_frames++;
    unacked_frames_++;
  }
  return out;
}

}  // namespace rtcoinfer

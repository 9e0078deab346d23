#include "mpc_controller.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace rtcoinfer {

const char *policy_name(Policy p) {
  switch (p) {
    case Policy::Mpc: return "mpc";
    case Policy::Rate: return "rate";
    case Policy::Fixed: return "fixed";
  }
  return "unknown";
}

std::vector<int> pareto_front(const std::vector<SetupProfile> &profiles) {
  std::vector<int> idx(profiles.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = int(i);
  std::sort(idx.begin(), idx.end(), [&](int a, int b) {
    if (profiles[a].bytes != profiles[b].bytes) return profiles[a].bytes < profiles[b].bytes;
    return profiles[a].accuracy > profiles[b].accuracy;
  });
  std::vector<int> front;
  double best = -std::numeric_limits<double>::infinity();
  for (int i : idx) {
    if (profiles[i].accuracy > best) {
      front.push_back(i);
      best = profiles[i].accuracy;
    }
  }
  return front;
}

MpcController::MpcController(std::vector<SetupProfile> profiles, MpcConfig config)
    : profiles_(std::move(profiles)), cfg_(config) {
  rebuild();
}

void MpcController::set_config(const MpcConfig &c) {
  const bool options_change = c.loss != cfg_.loss || c.fec != cfg_.fec ||
                              c.packet_payload_bytes != cfg_.packet_payload_bytes ||
                              c.fec_packet_bytes != cfg_.fec_packet_bytes;
  cfg_ = c;
  if (options_change) rebuild();
}

static double packets_of(double bytes, double payload) {
  return payload > 0 ? std::max(1.0, std::ceil(bytes / payload)) : 1.0;
}

double MpcController::wire_bytes(double bytes, bool fec) const {
  if (!fec) return bytes;
  return 2 * bytes + packets_of(bytes, cfg_.packet_payload_bytes) * cfg_.fec_packet_bytes;
}

double MpcController::arrival_probability(double bytes, bool fec) const {
  const double p = std::clamp(cfg_.loss, 0.0, 1.0);
  return std::pow(1.0 - (fec ? p * p : p), packets_of(bytes, cfg_.packet_payload_bytes));
}

// The profiles' front, and the options' front by what they earn at the configured loss.
void MpcController::rebuild() {
  pareto_ = pareto_front(profiles_);
  std::vector<Option> all;
  std::vector<SetupProfile> scored;  // the options as profiles, for the one front rule
  for (int i = 0; i < int(profiles_.size()); ++i)
    for (bool fec : {false, true}) {
      if (fec && !cfg_.fec) continue;
      const double bytes = profiles_[i].bytes;
      all.push_back({i, fec, wire_bytes(bytes, fec), profiles_[i].accuracy * arrival_probability(bytes, fec)});
      scored.push_back({profiles_[i].setup, all.back().value, all.back().bytes});
    }
  options_.clear();
  for (int i : pareto_front(scored)) options_.push_back(all[i]);
}

std::optional<int> MpcController::find(const Setup &s) const {
  for (std::size_t i = 0; i < profiles_.size(); ++i)
    if (profiles_[i].setup == s) return int(i);
  return std::nullopt;
}

void MpcController::observe_bytes(int index, double bytes) {
  if (index < 0 || index >= int(profiles_.size()) || !(bytes > 0)) return;
  auto &p = profiles_[index];
  p.bytes = p.bytes > 0 ? (1 - cfg_.bytes_ewma) * p.bytes + cfg_.bytes_ewma * bytes : bytes;
  // A setup that got bigger than a more accurate one drops out of the front.
  rebuild();
}

// Plays the plan "option a for frames [0, switch_at), then option b" over the horizon.
double MpcController::plan_score(int a, int b, int switch_at, double in_flight, double bw, double rtt,
                                 double *first_latency) const {
  const double drain = bw / 8.0 * cfg_.frame_interval_s;  // bytes the link empties per frame
  const double fixed = cfg_.head_s + rtt / 2 + cfg_.tail_s;
  double backlog = in_flight, score = 0;
  int prev = previous_;
  for (int t = 0; t < 2 * cfg_.horizon; ++t) {
    const Option &o = options_[t < switch_at ? a : b];
    const int s = o.profile;
    const double bytes = o.bytes;
    const double latency = fixed + (backlog + bytes) * 8.0 / bw;
    if (t == 0) *first_latency = latency;
    if (t < cfg_.horizon) score += o.value;
    // Lateness scales the penalty, so when misses are unavoidable the plan that is
    // least late still wins over the most accurate one.
    const double target = cfg_.deadline_s - cfg_.margin_s;
    if (latency > target) score -= cfg_.miss_penalty * (latency / target);
    if (prev >= 0 && s != prev) score -= cfg_.switch_penalty;
    prev = s;
    backlog = std::max(0.0, backlog + bytes - drain);
  }
  return score;
}

Decision MpcController::decide(double queued_bytes, double frame_bytes, std::optional<double> bandwidth_bps,
                               double rtt) {
  const auto t0 = std::chrono::steady_clock::now();
  Decision d;
  d.forecast_bps = bandwidth_bps.value_or(0);
  const bool have_bw = bandwidth_bps && *bandwidth_bps > 0;
  const int largest = pareto_.back(), smallest = pareto_.front();
  const double fixed = cfg_.head_s + rtt / 2 + cfg_.tail_s;

  // The frame at hand: a frame predicted to miss its deadline earns nothing, so it is
  // better not sent - its bytes would only delay the frames behind it.
  double in_flight = queued_bytes + frame_bytes;
  if (have_bw) {
    d.predicted_latency_s = fixed + in_flight * 8.0 / *bandwidth_bps;
    if (cfg_.allow_skip && cfg_.policy != Policy::Fixed && frame_bytes > 0 && d.predicted_latency_s > cfg_.deadline_s) {
      d.skip = true;
      in_flight = queued_bytes;
    }
  }

  if (cfg_.policy == Policy::Fixed) {
    d.index = cfg_.fixed_index >= 0 ? cfg_.fixed_index : largest;
  } else if (!have_bw) {
    d.index = previous_ >= 0 ? previous_ : largest;  // no feedback yet
  } else if (cfg_.policy == Policy::Rate) {
    const double budget = *bandwidth_bps * cfg_.rate_safety / 8.0 * cfg_.frame_interval_s;
    d.index = smallest;
    for (int i : pareto_)
      if (profiles_[i].bytes <= budget) d.index = i;
  } else {
    // Steady-state candidates for the plan's second setup: the largest setup the link
    // sustains (bytes <= what it drains per frame) and its two neighbours either side.
    const double bw = *bandwidth_bps * cfg_.plan_safety;
    const double drain = bw / 8.0 * cfg_.frame_interval_s;
    const int n = int(options_.size());
    int sustain = 0;
    for (int i = 0; i < n; ++i)
      if (options_[i].bytes <= drain) sustain = i;
    const int lo = std::max(0, sustain - 2), hi = std::min(n - 1, sustain + 2);
    double best = -std::numeric_limits<double>::infinity();
    double first_latency = 0;
    int chosen = 0;
    for (int a = 0; a < n; ++a) {
      const double constant = plan_score(a, a, cfg_.horizon, in_flight, bw, rtt, &first_latency);
      if (constant > best) best = constant, chosen = a;
      for (int b = lo; b <= hi; ++b) {
        if (b == a) continue;
        for (int j = 1; j < cfg_.horizon; ++j) {
          const double s = plan_score(a, b, j, in_flight, bw, rtt, &first_latency);
          if (s > best) best = s, chosen = a;
        }
      }
    }
    d.index = options_[chosen].profile;
    d.fec = options_[chosen].fec;
  }
  previous_ = d.index;
  d.decide_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  return d;
}

}  // namespace rtcoinfer

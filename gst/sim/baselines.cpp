#include "baselines.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace rtcoinfer {

SimSummary simulate_local_only(double duration_s, const LocalOnlyConfig &local, const MpcConfig &base,
                               const SimConfig &sim, std::vector<SimFrame> *frames) {
  SimSummary sum;
  sum.duration_s = duration_s;
  sum.frames = std::uint64_t(std::floor(duration_s * sim.fps));
  double busy_until = -INFINITY, latency_sum = 0;
  for (std::uint64_t n = 0; n < sum.frames; ++n) {
    SimFrame f;
    f.capture_s = double(n) / sim.fps;
    if (f.capture_s < busy_until - 1e-12) {
      sum.skipped++;  // the device is still on an earlier frame: this one is dropped
    } else {
      busy_until = f.capture_s + local.compute_s;
      f.setup = 0;
      f.latency_s = local.compute_s;
      f.on_time = f.latency_s <= base.deadline_s;
      sum.sent++;
      latency_sum += f.latency_s;
      if (f.on_time) {
        f.accuracy = local.accuracy;
        sum.on_time++;
        sum.effective_accuracy += f.accuracy;
      }
    }
    if (frames) frames->push_back(f);
  }
  finish_summary(sum, latency_sum);
  return sum;
}

SimSummary simulate_oracle(const BandwidthTrace &trace, const std::vector<SetupProfile> &profiles,
                           const MpcConfig &base, const SimConfig &sim, std::vector<SimFrame> *frames,
                           double bin_bytes) {
  if (profiles.empty()) throw std::invalid_argument("oracle: no setups");
  if (!(bin_bytes > 0)) throw std::invalid_argument("oracle: bin_bytes must be positive");
  // Pareto front: ascending bytes, strictly rising accuracy.
  std::vector<int> order(profiles.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return profiles[a].bytes != profiles[b].bytes ? profiles[a].bytes < profiles[b].bytes
                                                  : profiles[a].accuracy > profiles[b].accuracy;
  });
  std::vector<int> front;
  for (int i : order)
    if (front.empty() || profiles[i].accuracy > profiles[front.back()].accuracy) front.push_back(i);
  std::vector<double> size(front.size());
  for (std::size_t a = 0; a < front.size(); ++a) size[a] = wire_bytes(profiles[front[a]].bytes, sim);

  BandwidthTrace link_trace = trace;
  link_trace.loop = true;  // as simulate_trace's link
  LinkConfig link_cfg;
  const double min_rate = link_cfg.min_rate_bps;
  const double budget = base.deadline_s - sim.head_s - sim.delay_s - sim.server_s;

  SimSummary sum;
  sum.duration_s = trace.duration();
  const auto total = std::size_t(std::floor(sum.duration_s * sim.fps));
  sum.frames = total;
  // Per frame: bytes the link serves until the next frame is sent (drain), and within
  // the frame's budget (what may be ahead of its last byte for it to be on time).
  std::vector<double> drain(total), window(total);
  double max_window = 0;
  for (std::size_t n = 0; n < total; ++n) {
    const double send = double(n) / sim.fps + sim.head_s;
    drain[n] = link_trace.bytes_between(send, send + 1.0 / sim.fps, min_rate);
    // one byte of slack against rounding between this sum and LinkModel's schedule
    const double queue_limit =
        sim.queue_latency_s > 0
            ? std::max(link_trace.rate_at(send), min_rate) / 8.0 * sim.queue_latency_s + double(sim.burst_bytes)
            : double(sim.queue_bytes);
    window[n] =
        budget > 0 ? std::min(link_trace.bytes_between(send, send + budget, min_rate) - 1.0, queue_limit) : -1.0;
    max_window = std::max(max_window, window[n]);
  }
  const auto bins = std::size_t(std::ceil(std::max(0.0, max_window) / bin_bytes)) + 1;
  auto bin_of = [&](double backlog) {  // rounded up: the plan assumes at least the true backlog
    return std::min(bins - 1, std::size_t(std::ceil(std::max(0.0, backlog) / bin_bytes - 1e-9)));
  };

  // Backward: value[i] = the most accuracy points frames n.. can earn from backlog bin i.
  std::vector<double> value(bins, 0.0), next(bins, 0.0);
  std::vector<std::int8_t> choice(total * bins, -1);
  if (front.size() > 127) throw std::invalid_argument("oracle: more than 127 Pareto setups");
  for (std::size_t n = total; n-- > 0;) {
    std::swap(value, next);
    for (std::size_t i = 0; i < bins; ++i) {
      const double b = double(i) * bin_bytes;
      double best = next[bin_of(b - drain[n])];
      std::int8_t act = -1;
      for (std::size_t a = 0; a < front.size(); ++a) {
        if (b + size[a] > window[n]) break;  // sizes ascend: the rest are late too
        const double v = profiles[front[a]].accuracy + next[bin_of(b + size[a] - drain[n])];
        if (v > best) best = v, act = std::int8_t(a);
      }
      value[i] = best;
      choice[n * bins + i] = act;
    }
  }

  // Forward: follow the plan on the rounded backlog, and send it through the link.
  link_cfg.trace = link_trace;
  link_cfg.delay_s = sim.delay_s;
  link_cfg.queue_bytes = sim.queue_bytes;
  link_cfg.burst_bytes = sim.burst_bytes;
  link_cfg.queue_latency_s = sim.queue_latency_s;
  LinkModel link(link_cfg);
  double backlog = 0, latency_sum = 0;
  int last = -1;
  for (std::size_t n = 0; n < total; ++n) {
    SimFrame f;
    f.capture_s = double(n) / sim.fps;
    f.link_bps = trace.rate_at(f.capture_s);
    const int a = choice[n * bins + bin_of(backlog)];
    const double send = f.capture_s + sim.head_s;
    if (a < 0) {
      sum.skipped++;
      backlog = double(bin_of(backlog - drain[n])) * bin_bytes;
    } else {
      const SetupProfile &p = profiles[front[a]];
      f.setup = front[a];
      f.bytes = p.bytes;
      if (last >= 0 && last != f.setup) sum.switches++;
      last = f.setup;
      sum.sent++;
      const auto last_arrival = send_packets(link, send, p.bytes, sim);
      f.lost = !last_arrival;
      if (f.lost) {
        sum.lost++;
      } else {
        f.latency_s = sim.head_s + (*last_arrival - send) + server_time_at(sim, *last_arrival);
        latency_sum += f.latency_s;
        f.on_time = f.latency_s <= base.deadline_s;
        if (f.on_time) f.accuracy = p.accuracy;
      }
      backlog = double(bin_of(backlog + size[a] - drain[n])) * bin_bytes;
    }
    if (f.on_time) sum.on_time++;
    sum.effective_accuracy += f.accuracy;
    sum.bytes_per_frame += f.bytes;
    if (frames) frames->push_back(f);
  }
  finish_summary(sum, latency_sum);
  return sum;
}

}  // namespace rtcoinfer

#include "link_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rtcoinfer {

BandwidthTrace BandwidthTrace::constant(double bps) {
  BandwidthTrace t;
  t.points = {{0.0, bps}};
  return t;
}

BandwidthTrace BandwidthTrace::load(const std::string &path, double scale) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open bandwidth trace " + path);
  BandwidthTrace t;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    std::istringstream ls(line);
    double time, mbps;
    if (!(ls >> time >> mbps) || !std::isfinite(time) || !std::isfinite(mbps) || mbps < 0)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": expected \"time_s throughput_Mbit/s\"");
    if (!t.points.empty() && time <= t.points.back().first)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": times must increase");
    t.points.push_back({time, mbps * 1e6 * scale});
  }
  if (t.points.size() < 2) throw std::runtime_error(path + ": a trace needs at least two lines");
  const double t0 = t.points.front().first;
  for (auto &p : t.points) p.first -= t0;
  return t;
}

double BandwidthTrace::duration() const {
  if (points.size() < 2) return 0;
  // the last sample lasts as long as the one before it
  return points.back().first + (points.back().first - points[points.size() - 2].first);
}

double BandwidthTrace::rate_at(double t) const {
  if (points.size() == 1) return points[0].second;
  const double d = duration();
  if (loop && d > 0) t = std::fmod(std::max(0.0, t), d);
  auto it = std::upper_bound(points.begin(), points.end(), t,
                             [](double v, const std::pair<double, double> &p) { return v < p.first; });
  if (it == points.begin()) return points.front().second;
  return std::prev(it)->second;
}

double BandwidthTrace::bytes_between(double t0, double t1, double min_rate_bps) const {
  double bits = 0, t = t0;
  const double d = duration();
  for (int guard = 0; guard < 1000000 && t < t1; ++guard) {
    double step_end = t1;
    if (points.size() > 1 && d > 0) {
      const double base = loop ? std::floor(t / d) * d : 0.0;
      auto it = std::upper_bound(points.begin(), points.end(), t - base,
                                 [](double v, const std::pair<double, double> &p) { return v < p.first; });
      if (it != points.end() || loop) step_end = std::min(t1, base + (it == points.end() ? d : it->first));
      if (step_end <= t) step_end = std::min(t1, t + 1e-9);
    }
    bits += (step_end - t) * std::max(rate_at(t), min_rate_bps);
    t = step_end;
  }
  return bits / 8.0;
}

// The bucket starts full, as tc tbf's does: a link that starts empty of credit delays the
// first packet by a whole burst and drops the rest of the first frames.
LinkModel::LinkModel(LinkConfig config) : cfg_(std::move(config)), tokens_(double(cfg_.burst_bytes)) {}

double LinkModel::finish_time(double start, double bytes) const {
  // Serialize across trace steps: at most a step's worth of bytes per step.
  double t = start, left = bytes * 8.0;
  const auto &pts = cfg_.trace.points;
  for (int guard = 0; guard < 100000 && left > 0; ++guard) {
    const double rate = std::max(cfg_.trace.rate_at(t), cfg_.min_rate_bps);
    double step_end = INFINITY;
    if (pts.size() > 1) {
      const double d = cfg_.trace.duration();
      const double base = cfg_.trace.loop && d > 0 ? std::floor(t / d) * d : 0.0;
      const double local = t - base;
      auto it = std::upper_bound(pts.begin(), pts.end(), local,
                                 [](double v, const std::pair<double, double> &p) { return v < p.first; });
      step_end = base + (it == pts.end() ? d : it->first);
      if (step_end <= t) step_end = t + 1e-9;
    }
    const double can = (step_end - t) * rate;
    if (can >= left) return t + left / rate;
    left -= can;
    t = step_end;
  }
  return t;
}

std::optional<double> LinkModel::send(double t, std::uint32_t bytes) {
  while (!in_queue_.empty() && in_queue_.front().first <= t) in_queue_.pop_front();
  const double limit =
      cfg_.queue_latency_s > 0
          ? std::max(cfg_.trace.rate_at(t), cfg_.min_rate_bps) / 8.0 * cfg_.queue_latency_s + double(cfg_.burst_bytes)
          : double(cfg_.queue_bytes);
  if (double(queued_bytes(t) + bytes) > limit) {
    ++dropped_;
    return std::nullopt;
  }
  const double start = std::max(t, free_at_);
  if (cfg_.burst_bytes == 0) {
    free_at_ = finish_time(start, bytes);
  } else {
    // credit earned since the last departure, capped at the burst
    const double credit =
        std::min(double(cfg_.burst_bytes), tokens_ + cfg_.trace.bytes_between(free_at_, start, cfg_.min_rate_bps));
    if (credit >= bytes) {
      free_at_ = start;
      tokens_ = credit - bytes;
    } else {
      free_at_ = finish_time(start, bytes - credit);
      tokens_ = 0;
    }
  }
  in_queue_.push_back({free_at_, bytes});
  ++sent_;
  return free_at_ + cfg_.delay_s;
}

std::uint64_t LinkModel::queued_bytes(double t) const {
  std::uint64_t q = 0;
  for (auto it = in_queue_.rbegin(); it != in_queue_.rend() && it->first > t; ++it) q += it->second;
  return q;
}

}  // namespace rtcoinfer

// LinkModel: a deterministic bottleneck link - one FIFO drop-tail queue served at a
// rate that follows a bandwidth trace, plus a fixed propagation delay.
//
// Given a packet's arrival time it returns when the packet leaves the far end (or that
// it was dropped), so the same arrivals always give the same schedule. rtcoinfer-
// bottleneck wraps it as an element for in-process experiments and CI; the netns/tbf
// script (pipelines/shaped-link) is the kernel-shaped counterpart.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rtcoinfer {

struct BandwidthTrace {
  std::vector<std::pair<double, double>> points;  // (time s, rate bit/s), time ascending
  bool loop = true;

  static BandwidthTrace constant(double bps);
  // Lines "time_s rate_Mbit/s" (tab or space), as in ../shared/traces; times are made
  // relative to the first line. Throws std::runtime_error naming the file and line.
  static BandwidthTrace load(const std::string &path, double scale = 1.0);
  // Rate at time t (seconds since the trace start), piecewise constant.
  double rate_at(double t) const;
  double duration() const;
  // Bytes a link following the trace serializes between t0 and t1 (rates below
  // min_rate_bps count as min_rate_bps, as in LinkModel).
  double bytes_between(double t0, double t1, double min_rate_bps = 0) const;
};

struct LinkConfig {
  BandwidthTrace trace = BandwidthTrace::constant(10e6);
  double delay_s = 0.010;
  std::uint64_t queue_bytes = 64 * 1024;
  // Rates below this are treated as this (a trace sample of 0 would stall forever).
  double min_rate_bps = 1000;
  // A token bucket like tc tbf's: up to burst_bytes of credit build up while the link is
  // idle, and a packet leaves as soon as the credit covers it (0: a plain serializer).
  std::uint64_t burst_bytes = 0;
  // When > 0 the queue holds what the link drains in this long at the current rate,
  // plus the burst (tbf's `latency`), instead of queue_bytes.
  double queue_latency_s = 0;
};

class LinkModel {
 public:
  explicit LinkModel(LinkConfig config);
  // A packet of `bytes` arrives at time t (seconds, non-decreasing). Returns the time it
  // reaches the far end, or nullopt if the queue had no room (drop-tail).
  std::optional<double> send(double t, std::uint32_t bytes);
  // Bytes queued (not yet serialized) at time t.
  std::uint64_t queued_bytes(double t) const;
  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }
  const LinkConfig &config() const { return cfg_; }

 private:
  // Time at which `bytes` finish serializing when starting at `start`, integrating the
  // piecewise-constant rate.
  double finish_time(double start, double bytes) const;
  LinkConfig cfg_;
  double free_at_ = 0;                                     // when the serializer finishes the last accepted packet
  double tokens_ = 0;                                      // token-bucket credit (bytes) at free_at_
  std::deque<std::pair<double, std::uint32_t>> in_queue_;  // (serialization end, bytes)
  std::uint64_t sent_ = 0, dropped_ = 0;
};

}  // namespace rtcoinfer
